// The nspawn stage1's stop and gc: as the ns stage1's, except that systemd-nspawn, which lives in
// the pod's init cgroup, is never sent SIGKILL (its container would survive it as an orphan).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/error.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"
#include "stage1/nspawn/entrypoints.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// SIGKILL to every process of the pod but systemd-nspawn; true if there were any.
bool killPodButNspawn(const cgroup::Group& pod) {
  std::vector<pid_t> pids = pod.pids();
  std::vector<pid_t> keep = nspawnProcesses(pids);
  bool any = false;
  for (pid_t pid : pids) {
    if (std::find(keep.begin(), keep.end(), pid) != keep.end()) continue;
    ::kill(pid, SIGKILL);
    any = true;
  }
  return any;
}

}  // namespace

int nspawnStopEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions::read(podDir).checkUuid(args.uuid);
  std::optional<pid_t> pid = readPidFile(podDir);
  if (args.force) {
    // The pod's processes now; systemd-nspawn sees its payload die and ends, and run finishes
    // the pod's files.
    if (auto pod = readCgroupsJson(podDir, args.uuid)) {
      killPodButNspawn(*pod);
    } else if (pid && isPodProcess(*pid, args.uuid)) {
      ::kill(*pid, SIGKILL);
    }
    return 0;
  }
  if (!pid) throw Error(Errc::kNotFound, "cannot stop the pod: it has no pid file (not started)");
  if (isPodProcess(*pid, args.uuid) && ::kill(*pid, SIGTERM) != 0 && errno != ESRCH) {
    throwErrno("send SIGTERM to the pod init (pid " + std::to_string(*pid) + ")");
  }
  return 0;
}

int nspawnGcEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = RuntimeOptions::read(podDir);
  rt.checkUuid(args.uuid);
  std::optional<cgroup::Group> pod = readCgroupsJson(podDir, args.uuid);
  if (pod) {
    // The pod's own processes first, then systemd-nspawn gets SIGTERM and a while to end (it
    // does as soon as its payload is gone); only what is left after that is killed.
    killPodButNspawn(*pod);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (bool first = true; std::chrono::steady_clock::now() < deadline; first = false) {
      std::vector<pid_t> left = nspawnProcesses(pod->pids());
      if (left.empty()) break;
      if (first) {
        for (pid_t p : left) ::kill(p, SIGTERM);
      }
      killPodButNspawn(*pod);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pod->kill();
  }
  finalizeStatus(podDir, pod);
  if (pod) pod->remove();
  removeNspawnLeftovers(rt.uuid);
  size_t unmounted = unmountUnder(podDir);
  if (args.debug) {
    std::fprintf(stderr, "ferry-stage1 gc: %zu mounts detached under %s\n", unmounted,
                 quote(podDir.string()).c_str());
  }
  return 0;
}

}  // namespace ferry::stage1
