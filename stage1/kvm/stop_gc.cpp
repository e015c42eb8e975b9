// The kvm stage1's stop and gc entrypoints. They find the pod's processes from the pod directory:
// run.pid in kvm/ (the run process, whose working directory is the pod directory) and every
// process working in kvm/ (QEMU and virtiofsd).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"
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

}  // namespace

std::vector<pid_t> processesWorkingIn(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
    if (pid > 0 && pid != ::getpid() && cwdOf(pid) == dir) out.push_back(pid);
  }
  return out;
}

int kvmStopEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions::read(podDir).checkUuid(args.uuid);
  if (args.force) {
    // QEMU (and virtiofsd), now: run then reaps them and finishes the pod's files.
    for (pid_t pid : processesWorkingIn(podDir / kvm::kStateDir)) ::kill(pid, SIGKILL);
    return 0;
  }
  if (!readPidFile(podDir)) {
    throw Error(Errc::kNotFound, "cannot stop the pod: it has no pid file (not started)");
  }
  // A pod that ended already is stopped: nothing to do.
  if (auto run = runProcess(podDir); run && ::kill(*run, SIGTERM) != 0 && errno != ESRCH) {
    throwErrno("send SIGTERM to the pod's run process (pid " + std::to_string(*run) + ")");
  }
  return 0;
}

int kvmGcEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions::read(podDir).checkUuid(args.uuid);
  fs::path state = podDir / kvm::kStateDir;
  for (int i = 0; i < 500; ++i) {
    std::vector<pid_t> left = processesWorkingIn(state);
    if (left.empty()) break;
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  finalizeStatus(podDir, std::nullopt);
  for (const char* s : {kvm::kChannelSocket, kvm::kFsSocket}) ::unlink((state / s).c_str());
  size_t unmounted = unmountUnder(podDir);
  if (args.debug) {
    std::fprintf(stderr, "ferry-stage1 gc: %zu mounts detached under %s\n", unmounted,
                 quote(podDir.string()).c_str());
  }
  return 0;
}

}  // namespace ferry::stage1
