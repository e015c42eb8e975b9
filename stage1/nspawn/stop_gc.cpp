// The nspawn stage1's stop and gc: as the ns stage1's, except that systemd-nspawn, which lives in
// the pod's init cgroup, is never sent SIGKILL (its container would survive it as an orphan).
#include <signal.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/stop_gc.hpp"
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

// What differs from the ns stage1's (stage1/common stop_gc.hpp): systemd-nspawn is spared from
// every SIGKILL until it had its SIGTERM and a while to end, and its leftovers go after the
// pod's cgroups.
StopGcHooks nspawnHooks() {
  StopGcHooks h;
  // stop --force: the pod's processes now; systemd-nspawn sees its payload die and ends, and run
  // finishes the pod's files.
  h.killNow = [](const cgroup::Group& pod) { killPodButNspawn(pod); };
  // gc: the pod's own processes first, then systemd-nspawn gets SIGTERM and a while to end (it
  // does as soon as its payload is gone); only what is left after that is killed.
  h.beforeKill = [](const cgroup::Group& pod) {
    killPodButNspawn(pod);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (bool first = true; std::chrono::steady_clock::now() < deadline; first = false) {
      std::vector<pid_t> left = nspawnProcesses(pod.pids());
      if (left.empty()) break;
      if (first) {
        for (pid_t p : left) ::kill(p, SIGTERM);
      }
      killPodButNspawn(pod);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  h.afterRemove = [](const RuntimeOptions& rt) { removeNspawnLeftovers(rt.uuid); };
  return h;
}

}  // namespace

int nspawnStopEntrypoint(const Args& args) { return stopPod(args, nspawnHooks()); }

int nspawnGcEntrypoint(const Args& args) { return gcPod(args, nspawnHooks()); }

}  // namespace ferry::stage1
