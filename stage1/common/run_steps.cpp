#include "stage1/common/run_steps.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "common/mds_client.hpp"
#include "stage1/common/entrypoint.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/status.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

void debugLine(bool debug, const std::string& line) {
  static const auto start = std::chrono::steady_clock::now();
  if (!debug) return;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "ferry-stage1 run: [%7.2f ms] %s\n", ms, line.c_str());
}

fs::path selfDir() { return selfPath().parent_path(); }

void replaceEnvironment(const std::vector<std::string>& env) {
  if (::clearenv() != 0) throw Error(Errc::kIo, "cannot clear the environment");
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    if (::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1) != 0) {
      throwErrno("set " + e.substr(0, eq));
    }
  }
}

bool awaitGo(int fd) {
  char c = 0;
  ssize_t n;
  do {
    n = ::read(fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1 && c == 'g';
}

std::string readReport(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

int waitForInit(pid_t pid, int sigFd, bool debug) {
  for (;;) {
    int status = 0;
    pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) {
        debugLine(debug, "the pod init was killed by signal " + std::to_string(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
      }
      continue;
    }
    if (got < 0 && errno != EINTR) throwErrno("wait for the pod init");
    signalfd_siginfo si;
    ssize_t n = ::read(sigFd, &si, sizeof si);
    if (n != sizeof si) continue;
    int sig = static_cast<int>(si.ssi_signo);
    if (sig != SIGCHLD) {
      debugLine(debug, "forwarding signal " + std::to_string(sig) + " to the pod init");
      ::kill(pid, sig);
    }
  }
}

PodGuard::~PodGuard() {
  if (released_) return;
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  try {
    pod_.remove();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-stage1 run: %s\n", e.what());
  }
}

size_t closePod(const fs::path& podDir, const cgroup::Group& pod, UniqueFd mdsConnection) {
  if (mdsConnection) {
    try {
      mds::unregisterPod(std::move(mdsConnection));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ferry-stage1 run: %s\n", e.what());
    }
  }
  return finalizeStatus(podDir, pod);
}

int endPod(const fs::path& podDir, const PodCgroups& cgroups, int code, bool debug) {
  try {
    cgroups.remove();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-stage1 run: %s\n", e.what());
  }
  writeExitFile(podDir, code);
  debugLine(debug, "cgroups removed, exit written");
  return code;
}

}  // namespace ferry::stage1
