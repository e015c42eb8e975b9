#include "stage2/app_process.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage2/exec.hpp"
#include "stage2/in_root.hpp"
#include "stage2/user.hpp"

namespace ferry::stage2 {

namespace {

std::vector<char*> cArgv(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The app starts with every signal deliverable and at its default action, whatever its
// starter blocked or ignored (a supervisor ignoring SIGPIPE, blocking SIGTERM, a nohup):
// execve keeps both the mask and ignored dispositions.
void resetSignals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa = {};
    if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, nullptr, &sa) != 0) continue;
    if (sa.sa_handler == SIG_IGN) signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) throwErrno("unblock the signals");
}

// CVE-2024-21626's class: a working directory that is, or passes through, a descriptor or a
// /proc magic link (/proc/self/fd/N, /proc/1/cwd, /proc/1/root/…) would leave the root. So no
// descriptor but stdio survives to this point, the path is resolved by the kernel inside "/"
// (RESOLVE_IN_ROOT: ".." and absolute symlinks stay in; RESOLVE_NO_MAGICLINKS: /proc links
// refused), and where it landed is checked: getcwd(3) says ENOENT ("(unreachable)") for a
// directory outside the process's root.
// (The socket-activation descriptors below `firstClosed` stay: sockets, never a directory to
// change into or resolve from.)
void enterWorkingDirectory(const std::string& cwd, unsigned firstClosed) {
  if (syscall(SYS_close_range, firstClosed, ~0U, 0U) != 0) {
    // Before Linux 5.9: close them one by one.
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = static_cast<int>(firstClosed); fd < (max > 0 ? max : 1024); ++fd) close(fd);
  }
  std::string what = "change to the working directory " + quote(cwd);
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throwErrno(what + " (opening the root)");
  UniqueFd dir = openInRoot(root.get(), cwd, O_PATH | O_DIRECTORY);
  if (!dir) {
    if (errno == ELOOP || errno == EXDEV) {
      throw Error(Errc::kSecurity,
                  "cannot " + what + ": it goes through a /proc link or leaves the app's root");
    }
    throwErrno(what);
  }
  if (fchdir(dir.get()) != 0) throwErrno(what);
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') {
    throw Error(Errc::kSecurity, "cannot " + what + ": it is outside the app's root");
  }
}

}  // namespace

AppProcess::AppProcess(const oci::RuntimeSpec& spec, const std::filesystem::path& bundle)
    : spec_(spec) {
  if (!spec.process) throw Error(Errc::kInvalid, "config.json has no process");
  const oci::Process& process = *spec.process;
  haveCaps_ = process.capabilities.has_value();
  if (haveCaps_) caps_ = capabilitySetsFrom(*process.capabilities);
  for (size_t i = 0; i < process.rlimits.size(); ++i) {
    if (!rlimitResource(process.rlimits[i].type)) {
      json::fail(json::index("process.rlimits", i), "unknown rlimit " + process.rlimits[i].type);
    }
  }
  if (spec.linuxConfig && spec.linuxConfig->seccomp) {
    try {
      std::optional<std::filesystem::path> compiled;
      if (!bundle.empty()) compiled = bundle / kSeccompCacheFile;
      seccomp_ = seccompProgramFor(*spec.linuxConfig->seccomp, compiled);
    } catch (const std::exception& e) {
      throw Error(Errc::kInvalid, std::string("cannot build the seccomp filter: ") + e.what());
    }
  }
}

AppProcess::~AppProcess() = default;

void AppProcess::passListenFds(unsigned count, std::string names) {
  for (unsigned i = 0; i < count; ++i) {
    struct stat st;
    int fd = static_cast<int>(3 + i);
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
      throw Error(Errc::kSecurity, "cannot pass descriptor " + std::to_string(fd) +
                                       " to the app: LISTEN_FDS=" + std::to_string(count) +
                                       " but it is not a socket");
    }
  }
  listenFds_ = count;
  listenFdNames_ = std::move(names);
}

void AppProcess::exec(std::vector<std::string> argv) {
  const oci::Process& process = *spec_.process;
  if (argv.empty()) throw Error(Errc::kInvalid, "the command to run is empty");

  // Who the app is, from its own /etc files.
  Credentials creds;
  {
    UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throwErrno("open the app's root");
    creds = resolveCredentials(spec_, root.get());
  }
  enterWorkingDirectory(process.cwd, 3 + listenFds_);
  applyRlimits(process.rlimits);
  if (process.oomScoreAdj) {
    // Lowering it needs CAP_SYS_RESOURCE: do it while still root.
    std::string value = std::to_string(*process.oomScoreAdj);
    UniqueFd fd(open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (!fd || write(fd.get(), value.data(), value.size()) < 0) {
      throwErrno("set oom_score_adj to " + value);
    }
  }

  // Capabilities around the user switch. Without a capabilities section the process keeps
  // what it has (uid 0) or loses everything at setresuid (any other uid), as setuid(2) does.
  CapabilitySets caps = caps_;
  if (!haveCaps_) {
    caps = currentCapabilities();
    if (creds.uid != 0) caps = CapabilitySets{caps.bounding, 0, 0, 0, 0};
  }
  bool noNewPrivs = process.noNewPrivileges.value_or(false);
  // Without no_new_privs the kernel loads a seccomp filter only with CAP_SYS_ADMIN in the
  // effective set: borrow it (effective and permitted only) for the load. No syscall may follow
  // the load but execve, which the filter may be all that allows, and none needs to: execve
  // recomputes permitted and effective from the bounding, inheritable and ambient sets (and the
  // file's capabilities), never from the old permitted and effective sets, so the borrowed
  // capability is gone in the app.
  bool borrowAdmin = seccomp_ && !noNewPrivs && (caps.effective & capBit(CAP_SYS_ADMIN)) == 0;
  CapabilitySets during = caps;
  if (borrowAdmin) {
    during.effective |= capBit(CAP_SYS_ADMIN);
    during.permitted |= capBit(CAP_SYS_ADMIN);
  }
  if (haveCaps_) dropBounding(caps.bounding);
  keepCapabilities(true);
  switchCredentials(creds);
  setCapabilities(during);
  keepCapabilities(false);

  umask(process.user.umask.value_or(022));
  resetSignals();
  std::string path = envValue(process.env, "PATH").value_or(std::string(kDefaultPath));
  std::string exe = findExecutable(argv[0], path);
  closeExtraFdsOnExec(3 + listenFds_);
  std::vector<std::string> env;
  for (const auto& e : process.env) {
    bool listenVar = e.starts_with("LISTEN_FDS=") || e.starts_with("LISTEN_PID=") ||
                     e.starts_with("LISTEN_FDNAMES=");
    if (!(listenFds_ > 0 && listenVar)) env.push_back(e);
  }
  if (listenFds_ > 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(listenFds_));
    env.push_back("LISTEN_PID=" + std::to_string(getpid()));
    env.push_back("LISTEN_FDNAMES=" + listenFdNames_);
  }
  std::vector<char*> cargv = cArgv(argv);
  std::vector<char*> cenv = cArgv(env);

  if (noNewPrivs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throwErrno("set no_new_privs");
  }
  if (seccomp_) loadSeccompProgram(*seccomp_);
  execve(exe.c_str(), cargv.data(), cenv.data());
  throwErrno("execute " + quote(exe));
}

}  // namespace ferry::stage2
