// Garbage collection and removal of pods.
//
// gc marks, then sweeps: an exited pod (in run/, lock free) moves to exited-garbage/ and its
// directory's mtime becomes the time it was marked; the stage1's gc entrypoint is asked to undo
// what the pod left (mounts, cgroups) on every pass, and once the grace period is over the pod
// moves to garbage/ and is deleted. Pods whose preparation died and prepared pods older than
// --expire-prepared go to garbage/ directly. A pod is only ever deleted when nothing is mounted
// below its directory any more: deleting through a forgotten bind mount would delete the host's
// files. Once a pod directory is deleted, the ID range its user namespace had (--private-users)
// is released: its files were the last to hold host IDs of the range.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "stage0/net/pod_network.hpp"
#include "stage0/pod/pods.hpp"
#include "stage1/common/systemd.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

Clock::time_point mtimeOf(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return Clock::now();
  return Clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
}

void touch(const fs::path& p) {
  if (::utimensat(AT_FDCWD, p.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0) {
    throwErrno("set the time of " + quote(p.string()));
  }
}

// What a pod left outside its processes: its networks first (CNI DEL needs the pod's network
// namespace, which the stage1's gc would unmount), then what the stage1 made. A pod whose
// networks cannot be detached is left for the next gc, its namespace kept.
void cleanUp(const Pod& pod, PodCleaner& cleaner) {
  net::tearDown(pod.path, pod.uuid);
  cleaner.cleanup(pod);
}

fs::path dataDirOf(const Pods& pods) { return pods.root().parent_path(); }

// Deletes a pod in garbage/ whose lock the caller holds, then its ID range.
void destroy(const Pods& pods, const Pod& pod, PodCleaner& cleaner) {
  net::tearDown(pod.path, pod.uuid);
  if (!mountsBelow(pod.path).empty()) cleaner.cleanup(pod);
  auto left = mountsBelow(pod.path);
  if (!left.empty()) {
    throw Error(Errc::kIo, "cannot remove pod " + pod.uuid + ": " + quote(left.front().string()) +
                               " is still mounted");
  }
  removeTree(pod.path);
  releaseIdRange(dataDirOf(pods), pod.uuid);
  stage1::removePodJournal(pod.uuid);  // --log-driver=journal under systemd: ABI §5 "systemd"
}

// Ranges recorded for pods that exist in no state directory.
void releaseOrphanRanges(const Pods& pods, GcResult& r) {
  fs::path dir = idRangeRegistryDir(dataDirOf(pods));
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  try {
    idmap::RangeRegistry registry(dir, idmap::HostIds{});
    for (const idmap::Holding& h : registry.list()) {
      // A pod is recorded only once its directory exists, and moves forward through the state
      // directories in the order find() looks (pods.cpp): not found means gone.
      if (h.owner.size() == 36 && pods.find(h.owner)) continue;
      registry.release(h.owner);
    }
  } catch (const std::exception& e) {
    r.problems.push_back("ID ranges: " + describe(e, true));
  }
}

}  // namespace

fs::path idRangeRegistryDir(const fs::path& dataDir) { return dataDir / "userns"; }

void releaseIdRange(const fs::path& dataDir, const std::string& uuid) {
  idmap::RangeRegistry(idRangeRegistryDir(dataDir), idmap::HostIds{}).release(uuid);
}

std::vector<fs::path> mountsBelow(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) throw Error(Errc::kIo, "cannot read /proc/self/mountinfo");
  std::string prefix = dir.lexically_normal().string();
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  std::vector<fs::path> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devs, root, point;
    fields >> id >> parent >> devs >> root >> point;
    std::string mp = unescapeMountinfo(point);
    if (mp == prefix || (mp.size() > prefix.size() && mp.compare(0, prefix.size(), prefix) == 0 &&
                         mp[prefix.size()] == '/')) {
      out.emplace_back(mp);
    }
  }
  // Later mounts stack on earlier ones: unmount in reverse order of appearance.
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

// The compiled seccomp filters no pod links any more (stage1/ABI.md §3 "apps/<app>/seccomp.bpf":
// each pod's bundle holds a hard link to its entry), and temp files a crashed run left, once
// unchanged for the grace period: one link left is the cache's own. A run that links an entry
// just removed finds it missing and compiles it again (nothing it needs is lost).
void collectSeccompCache(const Pods& pods, const GcOptions& options, GcResult& r) {
  fs::path dir = dataDirOf(pods) / "cache" / "seccomp";
  std::error_code ec;
  auto now = Clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) continue;
    // The change time moves with every link and unlink: no pod took or dropped it since.
    auto changed = Clock::time_point(std::chrono::seconds(st.st_ctim.tv_sec));
    if (options.gracePeriod.count() > 0 && now - changed < options.gracePeriod) continue;
    if (::unlink(e.path().c_str()) != 0 && errno != ENOENT) {
      r.problems.push_back("cannot remove " + quote(e.path().string()) + ": " +
                           std::strerror(errno));
    }
  }
}

}  // namespace

GcResult gc(const Pods& pods, PodCleaner& cleaner, const GcOptions& options) {
  GcResult r;
  auto now = Clock::now();
  for (Pod pod : pods.list()) {
    if (options.markOnly && pod.dir != Dir::kRun) continue;
    try {
      switch (pod.dir) {
        case Dir::kEmbryo:
        case Dir::kPrepare: {
          // The lock is created right after the directory: give a young one time to get it.
          if (!fs::exists(pod.path / "lock") && now - mtimeOf(pod.path) < std::chrono::minutes(1)) {
            break;
          }
          auto lock = PodLock::tryExclusive(pod.path);
          if (!lock && fs::exists(pod.path / "lock")) break;  // being prepared
          pods.move(pod, Dir::kGarbage);
          destroy(pods, pod, cleaner);
          r.removed.push_back(pod.uuid);
          break;
        }
        case Dir::kPrepared: {
          if (now - mtimeOf(pod.path) < options.expirePrepared) break;
          auto lock = PodLock::tryExclusive(pod.path);
          if (!lock) break;  // being started by run-prepared
          pods.move(pod, Dir::kGarbage);
          destroy(pods, pod, cleaner);
          r.removed.push_back(pod.uuid);
          break;
        }
        case Dir::kRun: {
          auto lock = PodLock::tryExclusive(pod.path);
          if (!lock) break;  // running
          pods.move(pod, Dir::kExitedGarbage);
          touch(pod.path);
          r.marked.push_back(pod.uuid);
          cleanUp(pod, cleaner);
          if (options.gracePeriod.count() <= 0 && !options.markOnly) {
            pods.move(pod, Dir::kGarbage);
            destroy(pods, pod, cleaner);
            r.removed.push_back(pod.uuid);
          }
          break;
        }
        case Dir::kExitedGarbage: {
          auto lock = PodLock::tryExclusive(pod.path);
          if (!lock) break;  // another gc or rm is at it
          cleanUp(pod, cleaner);
          if (now - mtimeOf(pod.path) < options.gracePeriod) break;
          pods.move(pod, Dir::kGarbage);
          destroy(pods, pod, cleaner);
          r.removed.push_back(pod.uuid);
          break;
        }
        case Dir::kGarbage: {
          auto lock = PodLock::tryExclusive(pod.path);
          if (!lock && fs::exists(pod.path / "lock")) break;  // an rm is deleting it
          destroy(pods, pod, cleaner);
          r.removed.push_back(pod.uuid);
          break;
        }
      }
    } catch (const std::exception& e) {
      r.problems.push_back("pod " + pod.uuid + ": " + describe(e, true));
    }
  }
  releaseOrphanRanges(pods, r);
  if (!options.markOnly) collectSeccompCache(pods, options, r);
  return r;
}

void remove(const Pods& pods, Pod pod, PodCleaner& cleaner) {
  auto lock = PodLock::tryExclusive(pod.path);
  if (!lock) {
    // Moved since it was found (by a concurrent gc), or busy.
    auto again = pods.find(pod.uuid);
    if (!again) throw Error(Errc::kNotFound, "no pod " + pod.uuid);
    pod = *again;
    lock = PodLock::tryExclusive(pod.path);
  }
  if (!lock) {
    throw Error(Errc::kInvalid, "cannot remove pod " + pod.uuid + ": it is " +
                                    std::string(stateName(pod.state())) +
                                    (pod.dir == Dir::kRun ? "; stop it first" : ""));
  }
  if (pod.dir == Dir::kRun || pod.dir == Dir::kExitedGarbage) cleanUp(pod, cleaner);
  if (pod.dir != Dir::kGarbage) pods.move(pod, Dir::kGarbage);
  destroy(pods, pod, cleaner);
}

}  // namespace ferry::pod
