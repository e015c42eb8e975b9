// Control groups for pods, on pure cgroup v2 hosts and on hybrid/v1 hosts alike.
//
// Layout::detect() reads which hierarchies the calling process belongs to (/proc/self/cgroup)
// and where each is mounted (/proc/self/mountinfo). A Group is one cgroup present in every one
// of those hierarchies: Group::create makes "<the caller's own cgroup>/<name>" in each, so a
// pod's cgroups nest under whoever started it and never touch other processes' cgroups, except
// where cgroup v2 forbids it (see Group::place). A Group
// can also be rebuilt from its recorded directories (a pod's cgroups.json) to be killed and
// removed after a crash. What a member can do is decided by the files it has (memory.max vs
// memory.limit_in_bytes, cgroup.kill, freezer.state), never by the host's name or version:
//   - limits: memory, cpu shares/quota/period and pids, through v2 files where the controller is
//     on the unified hierarchy, through v1 files where it is a v1 controller (a hybrid host);
//   - kill: cgroup.kill where a v2 member has it, else freeze + SIGKILL + thaw until empty;
//   - OOM: the oom_kill count of memory.events (v2) or memory.oom_control (v1).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::cgroup {

// The limits ferry applies (a subset of OCI linux.resources).
struct Resources {
  std::optional<int64_t> memoryLimit;        // bytes; < 0: unlimited
  std::optional<int64_t> memoryReservation;  // bytes: memory.low (v2), soft limit (v1); < 0: none
  std::optional<uint64_t> cpuShares;         // v1 cpu.shares scale (2…262144); cpu.weight on v2
  std::optional<int64_t> cpuQuota;           // µs per period; < 0: unlimited
  std::optional<uint64_t> cpuPeriod;         // µs
  std::optional<int64_t> pidsLimit;          // ≤ 0: unlimited
  bool empty() const {
    return !memoryLimit && !memoryReservation && !cpuShares && !cpuQuota && !cpuPeriod &&
           !pidsLimit;
  }
};

enum class Version { kV1, kV2 };

struct Hierarchy {
  Version version = Version::kV1;
  std::string controllers;      // "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2
  std::filesystem::path mount;  // where it is mounted, e.g. /sys/fs/cgroup/memory
  std::filesystem::path own;    // the caller's cgroup in it (absolute directory)
};

class Layout {
 public:
  // The hierarchies of the calling process that are mounted in its mount namespace.
  static Layout detect();
  // Parses the two /proc files' contents (exposed for tests).
  static Layout parse(std::string_view procSelfCgroup, std::string_view mountinfo);

  const std::vector<Hierarchy>& hierarchies() const { return hierarchies_; }
  // Only a cgroup2 hierarchy: every controller is on it.
  bool pureV2() const;

 private:
  std::vector<Hierarchy> hierarchies_;
};

// One directory of a Group: the hierarchy's mount point and the cgroup's absolute directory.
struct Member {
  std::filesystem::path mount;
  std::filesystem::path dir;
  Version version = Version::kV1;
  std::string controllers;  // the v1 hierarchy's, when known (place); "" otherwise
};

enum class KillMode {
  kAuto,     // cgroup.kill when a v2 member has it, else the freezer
  kFreezer,  // v1 freezer: freeze, SIGKILL every process, thaw, until empty
  kSignal,   // SIGKILL every listed process until empty (no freezer: may race with forks)
};

// SIGKILLs those of `listed` (pids read from cgroup.procs a moment ago) that `current()` still
// lists once a pidfd pins each: a listed process that has exited and whose pid went to another
// process, inside the group or not, is never signalled by that number (a pidfd reaches the
// process it was opened on or nothing; one still listed after its pidfd was opened is alive
// there, as no live process shares its pid). Falls back to kill() where pidfds are missing.
void killListed(const std::vector<pid_t>& listed,
                const std::function<std::vector<pid_t>()>& current);

class Group {
 public:
  Group() = default;
  explicit Group(std::vector<Member> members) : members_(std::move(members)) {}

  // Where create() puts the group, creating nothing: "<own cgroup>/<name>" in each hierarchy.
  // On a cgroup v2 hierarchy that has the cpu, memory or pids controller, they must be enabled
  // in the new cgroup's parent, which v2 refuses in a non-root cgroup holding processes (a login
  // session's scope, a service's cgroup: "no internal processes"). There the group goes under
  // the nearest ancestor that can enable them (the root at the latest), beside the caller's
  // cgroup as systemd places a scope; if none can, under the own cgroup, and apply() names the
  // controller a limit misses. The controllers are enabled in the chosen parent.
  // Without `cpuset`, a v1 hierarchy of the cpuset controller alone gets no member: the group's
  // processes stay in the caller's cpuset, as systemd leaves its units on v1, for a group that
  // needs no cpuset limit (Resources has none). The host's first cpuset cgroup below the root
  // makes the kernel patch two static keys (cpusets_enabled_key, cpusets_pre_enable_key: a
  // mkdir of ~230 µs against ~15 µs in another hierarchy, and its rmdir patches them back). A
  // cpuset co-mounted with another controller keeps its member.
  static Group place(const Layout& layout, std::string_view name, bool cpuset = true);
  // Makes the directories of a placed group (existing ones are reused); v1 cpuset members get
  // their parent's cpus and mems.
  void make() const;
  // place() + make().
  static Group create(const Layout& layout, std::string_view name, bool cpuset = true);
  // Rebuilds a group from (mount, dir) pairs, e.g. read back from a pod's cgroups.json, which
  // a hand (or a hostile process) may have edited. Each path is normalised lexically first
  // ("/sys/fs/cgroup/pids/.." is "/sys/fs/cgroup"), then the directory must lie strictly below
  // its mount and, when `name` is given, be named `name` (the pod's cgroup). Error{kSecurity}
  // naming the entry otherwise.
  static Group fromDirs(const std::vector<std::pair<std::string, std::string>>& dirs,
                        std::string_view name = {});
  // fromDirs, then resolved as well: each mount must be a cgroup mount point of the caller's
  // mount namespace (/proc/self/mountinfo), and what exists of each directory must resolve to
  // itself (no symlink on the way). For the stage1 entrypoints that kill and remove what the
  // record names (gc, stop, enter).
  static Group fromRecord(const std::vector<std::pair<std::string, std::string>>& dirs,
                          std::string_view name);

  // A child cgroup in every member; createChild makes it.
  Group createChild(std::string_view name) const;
  Group child(std::string_view name) const;
  // The child's members whose directory exists (a pod's app cgroups exist only where
  // limitable() members are).
  Group existingChild(std::string_view name) const;
  // The members where per-process limits and counters live: every cgroup2 member, and the v1
  // hierarchies of the memory, cpu, cpuacct and pids controllers (as place() recorded them).
  // A pod's init and apps get child cgroups there only: elsewhere (freezer, devices, blkio,
  // cpuset, named hierarchies) the pod's cgroup holds them all, and each cgroup made and
  // removed costs a pod start time.
  Group limitable() const;

  // Lets this group's children have limits: on v2, enables those of the cpu, memory and pids
  // controllers the group has in its cgroup.subtree_control, after which the group itself can
  // hold no process (v2's "no internal processes" rule); a failure is an error. Nothing to do on
  // v1. Call it once the group's own processes have moved into children.
  void delegate() const;

  const std::vector<Member>& members() const { return members_; }

  // Writes the limits. A limit whose controller no member has is an Error{kUnsupported} naming
  // the controller, never silently dropped.
  void apply(const Resources& r) const;

  // Moves a process (0: the caller) into this group in every hierarchy.
  void join(pid_t pid) const;
  // The cgroup.procs files, for joining from a forked child without allocating (see joinProcs).
  std::vector<std::string> procsFiles() const;

  // Every process in this group and its descendants, in any member.
  std::vector<pid_t> pids() const;
  bool populated() const { return !pids().empty(); }

  // Kills every process of the group and its descendants and waits until none is left (bounded:
  // Error{kIo} if processes survive ~10 s, e.g. stuck in uninterruptible sleep).
  void kill(KillMode mode = KillMode::kAuto) const;

  // How many processes the kernel's OOM killer killed in this group (v1: this group and its
  // descendants; v2 memory.events is hierarchical). 0 when no member has a memory controller.
  uint64_t oomKills() const;

  // Kills what is left, then removes every cgroup directory of the group, deepest first,
  // retrying while exiting processes still pin them. Missing directories are fine.
  void remove() const;

 private:
  std::vector<Member> members_;
};

// For a child between fork and exec: writes "0" into each file (moving the caller). Returns 0
// or the errno of the first failure, and the index of the failing file in *failed.
int joinProcs(const char* const* files, size_t count, size_t* failed) noexcept;

// The first move of a process between cgroups after a quiet while waits for an RCU grace
// period, holding the cgroup mutex (the kernel's cgroup_threadgroup_rwsem turning to its writer
// mode: several milliseconds, more on a busy machine); a move that starts less than a grace
// period after another one ended does not wait. A pod start makes its first moves a few
// milliseconds after `ferry run` starts: this starts that wait at its very beginning, by a
// detached process moving itself into the cgroup it is already in, so that the pod's own moves
// find it over. Returns at once (after a fork); does nothing, and says nothing, if it cannot.
void startMoveWarmUp() noexcept;

// The name of the child cgroup for an app, for every stage1 flavor and the pod init to agree.
std::string appCgroupName(std::string_view app);
inline constexpr std::string_view kInitCgroupName = "init";

}  // namespace ferry::cgroup
