// Pods on disk (DESIGN §3, stage1/ABI.md §1): the state machine of pod directories.
//
//   $dir/pods/embryo/<uuid>          just created; its lock is taken before anything else
//   $dir/pods/prepare/<uuid>         being prepared (lock held exclusively by ferry)
//   $dir/pods/prepared/<uuid>        ready for run-prepared (lock free)
//   $dir/pods/run/<uuid>             running while the lock is held (by stage1 and the pod's
//                                    processes), exited once it can be taken shared
//   $dir/pods/exited-garbage/<uuid>  exited pods marked by gc; deleted after the grace period
//   $dir/pods/garbage/<uuid>         being deleted
//
// A pod moves between states by rename(2) inside $dir/pods, so every transition is atomic and a
// crash leaves the pod in one state. Who may move a pod is decided by its lock file (`lock`,
// flock(2)): whoever holds it exclusively owns the pod. The lock belongs to the open file, so
// it survives the renames and dies with the last process holding it: a pod whose stage1 was
// `kill -9`ed with no process left is exited, and gc collects it. PodLock is the RAII owner of
// one hold; Pods lists, finds and moves pod directories; Pod is one found pod.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.hpp"

namespace ferry::pod {

enum class Dir { kEmbryo, kPrepare, kPrepared, kRun, kExitedGarbage, kGarbage };
std::string_view dirName(Dir d);  // "embryo", "prepare", …
inline constexpr Dir kAllDirs[] = {Dir::kEmbryo, Dir::kPrepare,       Dir::kPrepared,
                                   Dir::kRun,    Dir::kExitedGarbage, Dir::kGarbage};

// What a user sees (list, status).
enum class State {
  kEmbryo,
  kPreparing,
  kAbortedPrepare,  // prepare/ with its lock free: the preparing ferry died
  kPrepared,
  kRunning,
  kExited,
  kExitedGarbage,
  kGarbage,
};
std::string_view stateName(State s);  // "running", "exited", "aborted prepare", …

// flock(2) on a pod's lock file.
class PodLock {
 public:
  PodLock() = default;
  explicit PodLock(UniqueFd fd) : fd_(std::move(fd)) {}
  // nullopt when another process holds the lock (or the file is gone).
  static std::optional<PodLock> tryExclusive(const std::filesystem::path& podDir);
  static std::optional<PodLock> tryShared(const std::filesystem::path& podDir);
  // Creates the lock file of a new pod and locks it.
  static PodLock create(const std::filesystem::path& podDir);

  int fd() const { return fd_.get(); }
  explicit operator bool() const { return static_cast<bool>(fd_); }
  void unlock() { fd_.reset(); }
  // Hands the descriptor to a process that keeps the lock (stage1 run): no FD_CLOEXEC.
  int inheritable();

 private:
  UniqueFd fd_;
};

struct Pod {
  std::string uuid;
  Dir dir = Dir::kRun;
  std::filesystem::path path;
  State state() const;  // looks at the lock
};

class Pods {
 public:
  // $dataDir/pods, creating the state directories.
  explicit Pods(const std::filesystem::path& dataDir);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dirOf(Dir d) const { return root_ / dirName(d); }
  std::filesystem::path pathOf(Dir d, std::string_view uuid) const { return dirOf(d) / uuid; }

  std::vector<Pod> list() const;  // every pod, in no particular order
  // By full UUID (a stat per state directory, however many pods there are) or a unique prefix
  // (a listing); Error{kInvalid} when ambiguous.
  std::optional<Pod> find(std::string_view ref) const;
  Pod require(std::string_view ref) const;  // Error{kNotFound}

  // Renames the pod into another state directory; updates pod.dir and pod.path.
  // kAtomic skips the directory fsyncs (a pod being started: see common/fs.hpp Sync).
  void move(Pod& pod, Dir to, Sync sync = Sync::kDurable) const;

 private:
  std::filesystem::path root_;
};

// --- gc and rm (gc.cpp)

struct GcOptions {
  std::chrono::seconds gracePeriod{30 * 60};
  std::chrono::seconds expirePrepared{24 * 60 * 60};
  // rkt's --mark-only: exited pods are marked (moved to exited-garbage, their exit time
  // recorded) and cleaned up by their stage1; nothing is deleted.
  bool markOnly = false;
};

// Undoes what a stage1 left behind for a pod (mounts, cgroups): its gc entrypoint.
// Implemented by the caller (the stage1 client); must be idempotent.
class PodCleaner {
 public:
  PodCleaner() = default;
  virtual ~PodCleaner() = default;
  PodCleaner(const PodCleaner&) = delete;
  PodCleaner& operator=(const PodCleaner&) = delete;
  virtual void cleanup(const Pod& pod) = 0;
};

struct GcResult {
  std::vector<std::string> marked;    // exited → exited-garbage
  std::vector<std::string> removed;   // deleted
  std::vector<std::string> problems;  // one line each; the pod stays for a later gc
};

// Also releases the ID range (--private-users) of every pod it deletes, and the ranges still
// recorded for pods that exist in no state any more (a pod directory removed by hand).
GcResult gc(const Pods& pods, PodCleaner& cleaner, const GcOptions& options);

// Removes one exited, prepared or aborted pod now (Error{kInvalid} when it is running or being
// prepared).
void remove(const Pods& pods, Pod pod, PodCleaner& cleaner);

// The registry of the pods' ID ranges (common/idmap.hpp): $dataDir/userns.
std::filesystem::path idRangeRegistryDir(const std::filesystem::path& dataDir);
// Forgets the ID range pod `uuid` holds, if any (its directory is gone).
void releaseIdRange(const std::filesystem::path& dataDir, const std::string& uuid);

// Mount points at or below dir in the caller's mount namespace (from /proc/self/mountinfo),
// deepest first.
std::vector<std::filesystem::path> mountsBelow(const std::filesystem::path& dir);

}  // namespace ferry::pod
