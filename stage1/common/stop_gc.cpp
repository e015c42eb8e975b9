#include "stage1/common/stop_gc.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/status.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

int stopPod(const Args& args, const StopGcHooks& hooks) {
  fs::path podDir = currentPodDir();
  RuntimeOptions::read(podDir).checkUuid(args.uuid);
  std::optional<pid_t> pid = readPidFile(podDir);
  if (args.force) {
    if (hooks.killOutside) hooks.killOutside(podDir);
    // Every process of the pod, now; the run process (outside the pod's cgroups) then reaps the
    // init and finishes the pod's files.
    if (auto pod = readCgroupsJson(podDir, args.uuid)) {
      if (hooks.killNow) {
        hooks.killNow(*pod);
      } else {
        pod->kill();
      }
    } else if (pid && isPodProcess(*pid, args.uuid)) {
      ::kill(*pid, SIGKILL);
    }
    return 0;
  }
  if (!pid) throw Error(Errc::kNotFound, "cannot stop the pod: it has no pid file (not started)");
  std::optional<pid_t> target;
  if (hooks.stopTarget) {
    target = hooks.stopTarget(podDir);
  } else if (isPodProcess(*pid, args.uuid)) {
    target = pid;
  }
  // A pod that ended already is stopped: nothing to do.
  if (target && ::kill(*target, SIGTERM) != 0 && errno != ESRCH) {
    throwErrno("send SIGTERM to the pod (pid " + std::to_string(*target) + ")");
  }
  return 0;
}

int gcPod(const Args& args, const StopGcHooks& hooks) {
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = RuntimeOptions::read(podDir);
  rt.checkUuid(args.uuid);
  if (hooks.killOutside) hooks.killOutside(podDir);
  std::optional<cgroup::Group> pod = readCgroupsJson(podDir, args.uuid);
  if (pod) {
    if (hooks.beforeKill) hooks.beforeKill(*pod);
    pod->kill();
  }
  finalizeStatus(podDir, pod);
  if (pod) pod->remove();
  if (hooks.afterRemove) hooks.afterRemove(rt);
  size_t unmounted = unmountUnder(podDir);
  if (args.debug) {
    std::fprintf(stderr, "ferry-stage1 gc: %zu mounts detached under %s\n", unmounted,
                 quote(podDir.string()).c_str());
  }
  return 0;
}

}  // namespace ferry::stage1
