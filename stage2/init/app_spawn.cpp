// Each app's children: its output pipes and log files (setupApp), then, for the app and each of
// its handlers, the child that joins the app's cgroup and runs stage2 (spawn): in-process after a
// fork when the init's executable is sealed, else an execve of ferry-stage2 after a vfork.
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "stage1/common/status.hpp"
#include "stage2/init/pod.hpp"
#include "stage2/stage2.hpp"

namespace ferry::init {

using stage1::nowNs;

bool PodInit::setupApp(App& app) {
  app.createdAt = nowNs();
  if (interactive_) return true;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return false;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  // Our read ends never block; the app's write ends stay blocking.
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  if (journal_) {
    std::string fields = "SYSLOG_IDENTIFIER=" + app.name + "\nFERRY_APP=" + app.name +
                         "\nFERRY_POD_UUID=" + uuid_ + "\n";
    if (!journalUnit_.empty()) fields += "OBJECT_SYSTEMD_UNIT=" + journalUnit_ + "\n";
    app.out = LogStream(out[0], -1, 1, "");
    app.err = LogStream(err[0], -1, 2, "");
    app.out.sendToJournal(journal_.get(), fields, 6);
    app.err.sendToJournal(journal_.get(), fields, 3);
    app.outWrite = out[1];
    app.errWrite = err[1];
    return true;
  }
  std::string log = app.name + ".log";
  app.logFd =
      ::openat(logsFd_, log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  log = podDir_ + "/logs/" + log;
  if (app.logFd < 0) say("cannot open \"%s\": %s", log.c_str(), std::strerror(errno));
  // When each chunk of the log was written (ferry logs --timestamps, --since).
  std::string times = app.name + ".log.times";
  app.timesFd = app.logFd < 0
                    ? -1
                    : ::openat(logsFd_, times.c_str(),
                               O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  std::string prefix = apps_.size() > 1 ? "[" + app.name + "] " : "";
  app.out = LogStream(out[0], app.logFd, 1, prefix, app.timesFd);
  app.err = LogStream(err[0], app.logFd, 2, prefix, app.timesFd);
  app.outWrite = out[1];
  app.errWrite = err[1];
  return true;
}

pid_t PodInit::spawn(App& app, const char* event) {
  if (inProcess_) {
    // fork, not vfork: the child runs stage2 (config.json, mounts, pivot_root, the app's
    // process) in a copy of this process instead of exec'ing ferry-stage2, whose start (the
    // execve, page faults, a static glibc's CPU-feature probing: each CPUID traps to the
    // hypervisor here) cost more than the copy-on-write faults of this small process.
    // This process is single-threaded, so the child may allocate and throw. It is the init's
    // memory until the app's execve: the runtime.json and config.json the stage1 wrote, the
    // apps' names, descriptor numbers and environment, nothing secret.
    pid_t pid = ::fork();
    if (pid != 0) {
      if (pid < 0) say("%s: cannot fork: %s", app.name.c_str(), std::strerror(errno));
      return pid;
    }
    prepareChild(app, event);
    runStage2InChild(app, event);
  }
  const char* argv[5];
  size_t n = 0;
  argv[n++] = stage2_.c_str();
  if (event != nullptr) {
    argv[n++] = "--event";
    argv[n++] = event;
  }
  argv[n++] = app.bundle.c_str();
  argv[n] = nullptr;
  // vfork: the child borrows this process's memory until its execve instead of a copy, so
  // neither side takes a copy-on-write fault for each page it writes next (each costs tens of
  // microseconds on a nested-virtualisation host: a few dozen per app start). The child writes
  // nothing of the parent's but its own stack below this frame and errno, which the parent does
  // not read after a successful vfork, and never returns from here.
  pid_t pid = ::vfork();
  if (pid != 0) {
    if (pid < 0) say("%s: cannot fork: %s", app.name.c_str(), std::strerror(errno));
    return pid;
  }
  prepareChild(app, event);
  const char* const noEnv[] = {nullptr};
  ::execve(argv[0], const_cast<char* const*>(argv),
           const_cast<char* const*>(event == nullptr ? app.envp.data() : noEnv));
  dprintf(2, "ferry-init: %s: cannot execute \"%s\": %s\n", app.name.c_str(), argv[0],
          ::strerror(errno));
  ::_exit(kOwnFailure);
}

// What a child of the init does before stage2, in either form: stdio, the app's cgroup, the
// activation descriptors. Only async-signal-safe calls, none that allocates (a vfork child).
void PodInit::prepareChild(App& app, const char* event) noexcept {
  sigset_t none;
  ::sigemptyset(&none);
  ::signal(SIGPIPE, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!interactive_) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null > 0) {
      ::dup2(null, 0);
      ::close(null);
    }
    ::dup2(app.outWrite, 1);
    ::dup2(app.errWrite, 2);
  }
  size_t failed = 0;
  if (int e = cgroup::joinProcs(app.procs.data(), app.procs.size(), &failed); e != 0) {
    dprintf(2, "ferry-init: %s: cannot join cgroup \"%s\": %s\n", app.name.c_str(),
            app.procs[failed], ::strerror(e));
    ::_exit(kOwnFailure);
  }
  // The activation descriptors at 3, 4, … (each source is at or above its target, and the
  // sources ascend: no dup2 overwrites a source still to come), the only ones to survive exec.
  if (event == nullptr) {
    for (size_t i = 0; i < app.listenFds.size(); ++i) {
      int target = 3 + static_cast<int>(i);
      int rc = app.listenFds[i] == target ? ::fcntl(target, F_SETFD, 0)
                                          : ::dup2(app.listenFds[i], target);
      if (rc < 0) {
        dprintf(2, "ferry-init: %s: cannot pass socket %d: %s\n", app.name.c_str(), target,
                ::strerror(errno));
        ::_exit(kOwnFailure);
      }
    }
  }
}

// The forked child becomes what an exec of ferry-stage2 would start as: nothing of the init's
// but its memory. Every descriptor above stderr but the activation ones is closed (they are all
// close-on-exec, which was enough when an execve came next; here stage2 would pivot into the
// app's root holding the pod directory, its lock, the init's pipes, signalfd and logs), every
// signal at its default action and unblocked, still not dumpable (inherited from the init, which
// makes itself so: a pod process cannot open /proc/<pid>/{exe,fd,root,mem} of this root
// process without CAP_SYS_PTRACE until the app's execve), and the environment the exec'd
// ferry-stage2 had: LISTEN_FDS and LISTEN_FDNAMES for an app given sockets, else none.
void PodInit::runStage2InChild(App& app, const char* event) noexcept {
  unsigned keep = event == nullptr ? static_cast<unsigned>(app.listenFds.size()) : 0;
  if (::syscall(SYS_close_range, 3u + keep, ~0u, 0u) != 0) {
    dprintf(2, "ferry-init: %s: cannot close the init's descriptors: %s\n", app.name.c_str(),
            ::strerror(errno));
    ::_exit(kOwnFailure);
  }
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    dprintf(2, "ferry-init: %s: cannot make the process non-dumpable: %s\n", app.name.c_str(),
            ::strerror(errno));
    ::_exit(kOwnFailure);
  }
  static const char* const kNoEnv[] = {nullptr};
  environ = const_cast<char**>(event == nullptr ? app.envp.data() : kNoEnv);
  stage2::Options options;
  options.bundle = app.bundle;
  if (event != nullptr) {
    options.event = event;
  } else {
    options.listenFds = keep;
    options.listenFdNames = app.listenFdNames;
  }
  ::_exit(stage2::runReporting(options));
}

}  // namespace ferry::init
