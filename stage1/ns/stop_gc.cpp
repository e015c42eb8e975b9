// The stop and gc entrypoints: both work from what the pod directory records (pid,
// cgroups.json), so they need nothing of the run process, which may be gone.
#include <signal.h>

#include <cstdio>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"
#include "stage1/ns/entrypoints.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

void checkUuid(const fs::path& podDir, const Args& args) {
  RuntimeOptions::read(podDir).checkUuid(args.uuid);
}

}  // namespace

int stopEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  checkUuid(podDir, args);
  std::optional<pid_t> pid = readPidFile(podDir);
  if (args.force) {
    // Every process of the pod, now; the run process (outside the pod's cgroups) then reaps the
    // init and finishes the pod's files.
    if (auto pod = readCgroupsJson(podDir, args.uuid)) {
      pod->kill();
    } else if (pid && isPodProcess(*pid, args.uuid)) {
      ::kill(*pid, SIGKILL);
    }
    return 0;
  }
  if (!pid) throw Error(Errc::kNotFound, "cannot stop the pod: it has no pid file (not started)");
  // A pod that ended already is stopped: nothing to do.
  if (isPodProcess(*pid, args.uuid) && ::kill(*pid, SIGTERM) != 0 && errno != ESRCH) {
    throwErrno("send SIGTERM to the pod init (pid " + std::to_string(*pid) + ")");
  }
  return 0;
}

int gcEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  checkUuid(podDir, args);
  std::optional<cgroup::Group> pod = readCgroupsJson(podDir, args.uuid);
  if (pod) pod->kill();
  finalizeStatus(podDir, pod);
  if (pod) pod->remove();
  size_t unmounted = unmountUnder(podDir);
  if (args.debug) {
    std::fprintf(stderr, "ferry-stage1 gc: %zu mounts detached under %s\n", unmounted,
                 quote(podDir.string()).c_str());
  }
  return 0;
}

}  // namespace ferry::stage1
