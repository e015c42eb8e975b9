// The stop and gc entrypoints every flavor shares (stage1/ABI.md §4): both work from what the
// pod directory records (pid, cgroups.json), so they need nothing of the run process, which may
// be gone. A flavor says only whom a stop signals and how "every process of the pod" dies (kvm:
// a QEMU and virtiofsd outside any cgroup of the pod's, found by their working directory).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>

#include "common/cgroup.hpp"
#include "stage1/common/entrypoint.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

struct StopGcHooks {
  // stop: the process a graceful stop sends SIGTERM to, if it still runs (empty: the pod init of
  // the pid file, when it is still the pod's).
  std::function<std::optional<pid_t>(const std::filesystem::path& podDir)> stopTarget;
  // stop --force and gc, first (empty: nothing): kill the pod's processes that are in none of its
  // cgroups, and return once none is left running.
  std::function<void(const std::filesystem::path& podDir)> killOutside;
  // stop --force: kill every process of the pod now (empty: SIGKILL to all of its cgroups').
  std::function<void(const cgroup::Group&)> killNow;
  // gc, before every process of the pod is sent SIGKILL (empty: nothing): what must end first,
  // and how (nspawn: the payload, then systemd-nspawn by SIGTERM).
  std::function<void(const cgroup::Group&)> beforeKill;
  // gc, once the pod's cgroups are gone (empty: nothing).
  std::function<void(const RuntimeOptions&)> afterRemove;
};

// stop [--force]: SIGTERM to the pod init (pid) or stopTarget, whose grace period stops the
// apps; --force: killOutside, then killNow. Stopping an ended pod succeeds. Returns the exit
// status.
int stopPod(const Args& args, const StopGcHooks& hooks = {});
// gc: kills what is left of the pod (killOutside, then its cgroups), finishes its status files,
// removes its cgroups (cgroups.json) and detaches every mount below the pod directory; idempotent.
int gcPod(const Args& args, const StopGcHooks& hooks = {});

}  // namespace ferry::stage1
