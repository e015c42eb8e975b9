// The kvm stage1's stop and gc entrypoints: stage1/common's (stop_gc.hpp). The pod's processes
// on the host are in none of its cgroups: a graceful stop signals the run process (run.pid in
// kvm/, whose working directory is the pod directory), which sends the pod init the signal over
// the channel; every process working in kvm/ (QEMU and virtiofsd) is what --force and gc kill.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <system_error>
#include <thread>

#include "common/fs.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/stop_gc.hpp"
#include "stage1/kvm/entrypoints.hpp"
#include "stage1/kvm/vm.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

fs::path cwdOf(pid_t pid) {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  return ec ? fs::path() : p;
}

// The host's processes whose working directory is `dir`.
std::vector<pid_t> processesWorkingIn(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
    if (pid > 0 && pid != ::getpid() && cwdOf(pid) == dir) out.push_back(pid);
  }
  return out;
}

// The run process of this pod, when it still runs.
std::optional<pid_t> runProcess(const fs::path& podDir) {
  std::optional<int64_t> pid = readNumberFile(podDir / kvm::kStateDir / kvm::kRunPid);
  if (!pid || *pid <= 1) return std::nullopt;
  pid_t p = static_cast<pid_t>(*pid);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/" + std::to_string(p) + "/exe", ec);
  if (ec || exe.filename() != "run" || cwdOf(p) != podDir) return std::nullopt;
  return p;
}

// QEMU and virtiofsd, until none is left running (a killed one is the run process's to reap;
// a zombie has no working directory).
void killVm(const fs::path& podDir) {
  for (int i = 0; i < 500; ++i) {
    std::vector<pid_t> left = processesWorkingIn(podDir / kvm::kStateDir);
    if (left.empty()) return;
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StopGcHooks kvmHooks() {
  StopGcHooks h;
  h.stopTarget = runProcess;
  h.killOutside = killVm;
  // The sockets of a run process that was killed itself (relative: gc works in the pod directory).
  h.afterRemove = [](const RuntimeOptions&) {
    for (const char* s : {kvm::kChannelSocket, kvm::kFsSocket, kvm::kEnterSocket}) {
      ::unlink((fs::path(kvm::kStateDir) / s).c_str());
    }
  };
  return h;
}

}  // namespace

int kvmStopEntrypoint(const Args& args) { return stopPod(args, kvmHooks()); }

int kvmGcEntrypoint(const Args& args) { return gcPod(args, kvmHooks()); }

}  // namespace ferry::stage1
