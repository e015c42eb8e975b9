// The ns stage1's entrypoints (stage1/ABI.md §4), each a function behind a thin main
// (stage1/common/entrypoint.hpp):
//   run   — cgroups, namespaces, app rootfs mounts, the pod init as PID 1, pid/exit files;
//   stop  — SIGTERM to the pod init (its grace period), or --force: kill the pod's cgroups;
//   enter — a command in an app's namespaces, root, environment and user;
//   gc    — undo what outlives the pod's processes (processes, cgroups, mounts); idempotent.
#pragma once

#include "stage1/common/entrypoint.hpp"

namespace ferry::stage1 {

// run, for the ns flavor and the fly flavor (stage1/fly): the same pod, the same cgroups and
// pod init, only which namespaces the pod gets differs.
struct RunFlavor {
  // fly: the host's namespaces but a mount namespace of the pod's own (the apps' own mount
  // namespaces below it, made by ferry-stage2, as always).
  bool hostNamespaces = false;
};
int runPod(const Args& args, const RunFlavor& flavor);
int runEntrypoint(const Args& args);
int flyRunEntrypoint(const Args& args);
int stopEntrypoint(const Args& args);
int enterEntrypoint(const Args& args);
int gcEntrypoint(const Args& args);

}  // namespace ferry::stage1
