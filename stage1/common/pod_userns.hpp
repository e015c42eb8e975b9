// What a pod in a user namespace (runtime.json privateUsers, docs/private-users.md) needs of the
// host's side of its pod directory and cgroups, on every flavor that offers it (ns, kvm): the
// namespace's root (host uid and gid START) let into what the pod init and stage2 read, given
// what they write, and the cgroup.procs files through which the init moves processes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <vector>

#include "common/cgroup.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

// Before the pod init runs: what it and stage2 read becomes readable by group `gid` (the
// namespace root's; no host user has it), what they write owned by `uid`:`gid` (status/, logs/,
// each app's upper and work). The pod directory becomes root:gid 01730 (the init creates `ready`
// in it; the sticky bit keeps every file it did not create out of its reach); runtime.json and
// cgroups.json (when there) and each config.json root:gid 0640; apps/, apps/<app>/, etc/ and
// volumes/ root:gid 0710; apps/<app>/lower (where an idmapped tree is attached) root 0700.
void sharePodDir(const std::filesystem::path& podDir, const RuntimeOptions& rt, uid_t uid,
                 gid_t gid);

// The files through which the init moves processes between the pod's cgroups (cgroup.procs of
// each group) chowned to uid:gid; the directories and every limit file stay root's.
void chownProcsFiles(const std::vector<const cgroup::Group*>& groups, uid_t uid, gid_t gid);

}  // namespace ferry::stage1
