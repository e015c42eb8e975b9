// config.json's "cgroup" mount (runtime-spec config-linux.md "cgroup", as runc makes it with a
// cgroup namespace): the app's own cgroups at the destination, read-only, so that a program that
// sizes itself by its limits (a JVM, the Go runtime) finds memory.max or memory.limit_in_bytes,
// cpu.max or cpu.cfs_quota_us and pids.max where it looks.
//
// The app gets a cgroup namespace of its own, rooted at the cgroups it is in when stage2 starts
// (its app cgroup where it has one, the pod's elsewhere: stage1/ABI.md §5 "Cgroups"), and each
// hierarchy is mounted fresh in it: the kernel shows that root, nothing above it. Only the
// hierarchies this mount namespace has mounted (the pod's, in the pod init's root) are mounted,
// and only when the pod runs in a cgroup namespace of its own: outside one, the cgroups the app
// is in may be the host's, and the destination stays as it is. Every cgroup mount and the
// tmpfs holding them (on a v1 or hybrid host; a cgroup2-only host gets cgroup2 at the
// destination itself) are read-only, nosuid, nodev and noexec whatever the options say.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::stage2 {

// One line of /proc/self/cgroup: "4:memory:/app-x" → {4, "memory", "/app-x"}.
struct CgroupLine {
  int id = 0;
  std::string controllers;  // "cpu,cpuacct", "name=systemd"; "" for cgroup2
  std::string path;
};

// What to mount: the hierarchies of /proc/self/cgroup that a cgroup mount of `mountinfo` holds
// (a v1 one whose super options name all its controllers; cgroup2 where a cgroup2 is mounted).
// Pure, for the tests.
std::vector<CgroupLine> mountedHierarchies(std::string_view procSelfCgroup,
                                           std::string_view mountinfo);

// Mounts the app's cgroups on `target` (an O_PATH directory in the app's root, `dest` its path
// for errors). Throws on failure.
void mountOwnCgroups(int target, const std::string& dest);

}  // namespace ferry::stage2
