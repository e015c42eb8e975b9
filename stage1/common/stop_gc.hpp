// The stop and gc entrypoints every flavor whose pod lives in cgroups shares (stage1/ABI.md §4):
// both work from what the pod directory records (pid, cgroups.json), so they need nothing of
// the run process, which may be gone. A flavor says only how "every process of the pod" dies.
#pragma once

#include <functional>

#include "common/cgroup.hpp"
#include "stage1/common/entrypoint.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

struct StopGcHooks {
  // stop --force: kill every process of the pod now (empty: SIGKILL to all of its cgroups').
  std::function<void(const cgroup::Group&)> killNow;
  // gc, before every process of the pod is sent SIGKILL (empty: nothing): what must end first,
  // and how (nspawn: the payload, then systemd-nspawn by SIGTERM).
  std::function<void(const cgroup::Group&)> beforeKill;
  // gc, once the pod's cgroups are gone (empty: nothing).
  std::function<void(const RuntimeOptions&)> afterRemove;
};

// stop [--force]: SIGTERM to the pod init (pid), whose grace period stops the apps; --force:
// killNow. Stopping an ended pod succeeds. Returns the exit status.
int stopPod(const Args& args, const StopGcHooks& hooks = {});
// gc: kills what is left of the pod, finishes its status files, removes its cgroups (cgroups.json)
// and detaches every mount below the pod directory; idempotent.
int gcPod(const Args& args, const StopGcHooks& hooks = {});

}  // namespace ferry::stage1
