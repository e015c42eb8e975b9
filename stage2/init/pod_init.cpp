#include "stage2/init/pod_init.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "common/cgroup.hpp"
#include "common/sealed_exec.hpp"
#include "common/signals.hpp"
#include "stage1/common/keys.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"
#include "stage2/init/journal_sink.hpp"
#include "stage2/init/json_lite.hpp"
#include "stage2/init/log_stream.hpp"
#include "stage2/stage2.hpp"

namespace ferry::init {

namespace {

using stage1::nowNs;
namespace rf = stage1::runtime_field;
constexpr int kOwnFailure = 254;
// At the pod's end, how long the journal may take no entry before what waits is dropped.
constexpr int kJournalIdleMs = 1000;

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
  char buf[1024];
  int n = std::snprintf(buf, sizeof buf, "ferry-init: ");
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + std::min<size_t>(static_cast<size_t>(std::max(m, 0)),
                                                         sizeof buf - static_cast<size_t>(n) - 2);
  buf[len++] = '\n';
  writeFully(2, buf, len);
}

// Every file of the pod directory is opened relative to the directory's descriptor and never
// through a symlink in its last component (O_NOFOLLOW): a link planted there cannot make PID 1
// read or write a file elsewhere.
std::optional<std::string> slurp(int dirFd, const std::string& path) {
  int fd = ::openat(dirFd, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || out.size() > (16u << 20)) {
      ::close(fd);
      if (n < 0) return std::nullopt;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// The pod's exit code for one wait status: the code, or 128 + the signal.
int codeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kOwnFailure;
}

struct App {
  std::string name;
  std::string bundle;
  cgroup::Group cgroup;
  std::vector<std::string> procsFiles;
  std::vector<const char*> procs;
  bool preStart = false;
  bool postStop = false;
  int stopSignal = SIGTERM;  // what a stop sends the app (dev.ferry.stop-signal)
  int outWrite = -1;         // the write ends the app's processes get as stdout and stderr
  int errWrite = -1;
  int logFd = -1;
  int timesFd = -1;  // logs/<app>.log.times
  LogStream out;
  LogStream err;
  enum class State { kCreated, kRunning, kExited } state = State::kCreated;
  bool started = false;
  pid_t pid = 0;
  pid_t handler = 0;  // a running pre-start or post-stop handler
  int handlerStatus = 0;
  int64_t createdAt = 0;
  int64_t startedAt = 0;
  int64_t finishedAt = 0;
  std::optional<int> exitCode;
  std::optional<int> signal;
  bool oomKilled = false;
  // systemd (ABI §5 "systemd"): the app's notify socket (its image speaks sd_notify), whether it
  // said READY=1; the ports it takes socket-activation descriptors for, the descriptors it gets
  // (in order, at 3, 4, …) and the environment ferry-stage2 gets to say so.
  bool notify = false;
  int notifyFd = -1;
  bool notified = false;
  std::vector<std::string> socketPorts;
  std::vector<int> listenFds;
  std::string listenFdNames;
  std::vector<std::string> env;
  std::vector<const char*> envp;
};

class PodInit {
 public:
  explicit PodInit(std::string podDir) : podDir_(std::move(podDir)) {}
  ~PodInit();
  int run();

 private:
  bool load();
  bool setupApp(App& app);
  pid_t spawn(App& app, const char* event);
  void prepareChild(App& app, const char* event) noexcept;
  [[noreturn]] void runStage2InChild(App& app, const char* event) noexcept;
  void loopOnce();
  void reap();
  void onAppExit(App& app, int status);
  void finish(App& app, int status);
  void beginStop();
  void forward(int sig);
  void killEverything();
  void armTimer(int seconds);
  void writeStatus(const App& app);
  int waitHandler(App& app);
  bool anyRunning() const;
  bool setupSystemd();
  void onNotify(App& app);
  void maybeReady();

  std::string podDir_;
  int podFd_ = -1;     // the pod directory (O_PATH)
  int statusFd_ = -1;  // its status/ and logs/
  int logsFd_ = -1;
  std::string stage2_;      // the ferry-stage2 the children exec, when not inProcess_
  bool inProcess_ = false;  // each child runs stage2 itself (spawn)
  bool interactive_ = false;
  bool debug_ = false;
  std::vector<int> journalFds_;           // --log-driver=journal: the sockets the stage1 connected
                                          // (FERRY_JOURNAL_FD)
  std::unique_ptr<JournalSink> journal_;  // what every app's output goes through to it
  std::string journalUnit_;               // FERRY_JOURNAL_UNIT: the pod's systemd unit
  std::string uuid_;
  int graceSeconds_ = 10;
  std::vector<std::unique_ptr<App>> apps_;
  int sigFd_ = -1;
  int timerFd_ = -1;
  bool stopping_ = false;
  bool postStopPhase_ = false;
  bool allStarted_ = false;
  bool ready_ = false;
  std::optional<int> exitCode_;
};

PodInit::~PodInit() {
  for (auto& app : apps_) {
    if (app->outWrite >= 0) ::close(app->outWrite);
    if (app->errWrite >= 0) ::close(app->errWrite);
    if (app->logFd >= 0) ::close(app->logFd);
    if (app->timesFd >= 0) ::close(app->timesFd);
    if (app->notifyFd >= 0) ::close(app->notifyFd);
  }
  for (int fd : {sigFd_, podFd_, statusFd_, logsFd_}) {
    if (fd >= 0) ::close(fd);
  }
  for (int fd : journalFds_) ::close(fd);
  if (timerFd_ >= 0) ::close(timerFd_);
}

bool PodInit::load() {
  podFd_ = ::open(podDir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (podFd_ < 0) {
    say("cannot open \"%s\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  std::string runtimePath = podDir_ + "/runtime.json";
  auto text = slurp(podFd_, "runtime.json");
  if (!text) {
    say("cannot read \"%s\": %s", runtimePath.c_str(), std::strerror(errno));
    return false;
  }
  auto runtime = parseJson(*text);
  if (!runtime || !runtime->isObject()) {
    say("cannot read \"%s\": not a JSON object", runtimePath.c_str());
    return false;
  }
  const JsonValue* apps = runtime->get(rf::kApps);
  if (apps == nullptr || !apps->isArray() || apps->items.empty()) {
    say("\"%s\": apps: missing or empty", runtimePath.c_str());
    return false;
  }
  if (const JsonValue* v = runtime->get(rf::kInteractive)) interactive_ = v->boolean;
  if (const JsonValue* v = runtime->get(rf::kDebug)) debug_ = v->boolean;
  if (const JsonValue* v = runtime->get(rf::kUuid); v && v->isString()) uuid_ = v->text;
  // The journal log driver (ABI §5 "systemd"): the stage1 connected the socket for us.
  if (const JsonValue* v = runtime->get(rf::kLogDriver); v && v->isString()) {
    if (v->text == "journal") {
      // One socket, or two: the pod's own journal and the system's (ABI §5 "systemd"); their
      // paths, when the stage1 could not pass them (nspawn).
      const char* fds = ::getenv("FERRY_JOURNAL_FD");
      const char* paths = ::getenv("FERRY_JOURNAL_SOCKETS");
      if (fds == nullptr && paths != nullptr) {
        std::string error;
        journalFds_ = JournalSink::connectPaths(paths, error);
        if (journalFds_.empty()) {
          say("\"%s\": logDriver journal: FERRY_JOURNAL_SOCKETS: %s", runtimePath.c_str(),
              error.c_str());
          return false;
        }
      } else {
        journalFds_ = JournalSink::parseFds(fds != nullptr ? fds : "");
      }
      bool sockets = !journalFds_.empty();
      for (int fd : journalFds_) {
        struct stat st;
        sockets = sockets && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
      }
      if (!sockets) {
        say("\"%s\": logDriver journal, but the stage1 passed no journal socket",
            runtimePath.c_str());
        journalFds_.clear();
        return false;
      }
      journal_ = std::make_unique<JournalSink>(journalFds_);
      // The pod's unit, named by each entry: journald may read one after the init is gone, when
      // it can no longer tell the unit from the sender's cgroup (`journalctl -u` finds either).
      if (const char* unit = ::getenv("FERRY_JOURNAL_UNIT");
          unit != nullptr && *unit != '\0' && std::strchr(unit, '\n') == nullptr) {
        journalUnit_ = unit;
      }
    } else if (v->text != "file") {
      say("\"%s\": logDriver: not a log driver: %s", runtimePath.c_str(), v->text.c_str());
      return false;
    }
  }
  if (const JsonValue* v = runtime->get(rf::kStopTimeoutSeconds); v && v->asInt()) {
    graceSeconds_ = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(*v->asInt(), 86400)));
  }
  if (const JsonValue* v = runtime->get(rf::kStage2); v && v->isString()) stage2_ = v->text;
  // Stage2 in the child itself (no ferry-stage2 exec) unless runtime.json names a ferry-stage2,
  // and only when this executable is sealed (a read-only mount or a sealed memfd, as ABI §5 has
  // every stage1 start ferry-init): the child is this executable until the app's execve, and an
  // app whose entrypoint is a `#!/proc/self/exe` script runs it again as the app, holding it as
  // /proc/self/exe; from a writable file that would be CVE-2019-5736 (common/sealed_exec.hpp).
  // fly runs this loop in its stage1's own `run`, a writable file: it keeps exec'ing the
  // ferry-stage2 it binds read-only.
  inProcess_ = stage2_.empty() && selfExeSealed();
  if (stage2_.empty() && !inProcess_) {
    // The stage1 ships ferry-stage2 next to the init.
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      say("cannot find ferry-stage2: readlink /proc/self/exe: %s", std::strerror(errno));
      return false;
    }
    std::string exe(self, static_cast<size_t>(n));
    stage2_ = exe.substr(0, exe.rfind('/') + 1) + "ferry-stage2";
  }

  // The pod's cgroups, when the stage1 made some: each app has its child cgroup there.
  std::optional<cgroup::Group> pod;
  if (auto cg = slurp(podFd_, "cgroups.json")) {
    auto doc = parseJson(*cg);
    std::vector<std::pair<std::string, std::string>> dirs;
    if (doc && doc->isObject()) {
      for (const auto& [mount, dir] : doc->fields) {
        if (dir.isString()) dirs.emplace_back(mount, dir.text);
      }
    }
    if (!doc || !doc->isObject() || dirs.size() != doc->fields.size()) {
      say("cannot read \"%s/cgroups.json\": not an object of strings", podDir_.c_str());
      return false;
    }
    try {
      pod = cgroup::Group::fromDirs(dirs);
    } catch (const std::exception& e) {
      say("\"%s/cgroups.json\": %s", podDir_.c_str(), e.what());
      return false;
    }
  }

  for (const JsonValue& a : apps->items) {
    const JsonValue* name = a.get(rf::kAppName);
    if (name == nullptr || !name->isString() || name->text.empty() ||
        name->text.find("..") != std::string::npos) {
      say("\"%s\": apps: an app without a valid name", runtimePath.c_str());
      return false;
    }
    auto app = std::make_unique<App>();
    app->name = name->text;
    app->bundle = podDir_ + "/apps/" + app->name;
    if (pod) {
      app->cgroup = pod->existingChild(cgroup::appCgroupName(app->name));
      app->procsFiles = app->cgroup.procsFiles();
      for (const auto& f : app->procsFiles) app->procs.push_back(f.c_str());
    }
    // Only the handlers' presence and the stop signal matter here; ferry-stage2 reads the
    // whole config.
    if (auto config = slurp(podFd_, "apps/" + app->name + "/config.json")) {
      if (auto doc = parseJson(*config)) {
        if (const JsonValue* ann = doc->get("annotations")) {
          app->preStart = ann->get(keys::kPreStart) != nullptr;
          app->postStop = ann->get(keys::kPostStop) != nullptr;
          if (const JsonValue* v = ann->get(keys::kNotify); v && v->isString()) {
            app->notify = v->text == "true";
          }
          if (const JsonValue* v = ann->get(keys::kSocketActivated); v && v->isString()) {
            for (size_t start = 0; start <= v->text.size();) {
              size_t comma = std::min(v->text.find(',', start), v->text.size());
              if (comma > start) app->socketPorts.push_back(v->text.substr(start, comma - start));
              start = comma + 1;
            }
          }
          if (const JsonValue* v = ann->get(keys::kStopSignal); v && v->isString()) {
            auto sig = parseSignal(v->text);
            if (!sig) {
              say("\"%s/config.json\": annotations[dev.ferry.stop-signal]: not a signal: %s",
                  app->bundle.c_str(), v->text.c_str());
              return false;
            }
            app->stopSignal = *sig;
          }
        }
      }
    }
    apps_.push_back(std::move(app));
  }
  return true;
}

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

bool PodInit::anyRunning() const {
  for (const auto& app : apps_) {
    if (app->state == App::State::kRunning || app->handler > 0) return true;
  }
  return false;
}

void PodInit::loopOnce() {
  std::vector<pollfd> fds;
  fds.push_back({sigFd_, POLLIN, 0});
  fds.push_back({timerFd_, POLLIN, 0});
  for (auto& app : apps_) {
    if (app->out.fd() >= 0) fds.push_back({app->out.fd(), POLLIN, 0});
    if (app->err.fd() >= 0) fds.push_back({app->err.fd(), POLLIN, 0});
    if (app->notifyFd >= 0 && !app->notified) fds.push_back({app->notifyFd, POLLIN, 0});
  }
  // Entries wait for room in the journal's socket (JournalSink): wake when it has some.
  if (journal_) {
    for (int fd : journal_->pendingFds()) fds.push_back({fd, POLLOUT, 0});
  }
  if (::poll(fds.data(), fds.size(), -1) < 0) return;  // EINTR: the caller loops
  if (journal_) journal_->drain();
  for (auto& app : apps_) {
    app->out.pump();
    app->err.pump();
    if (app->notifyFd >= 0 && !app->notified) onNotify(*app);
  }
  if (fds[1].revents & POLLIN) {
    uint64_t expirations;
    if (::read(timerFd_, &expirations, sizeof expirations) > 0) {
      if (debug_) say("grace period over: killing what is left");
      if (postStopPhase_) {
        for (auto& app : apps_) {
          if (app->handler > 0) ::kill(app->handler, SIGKILL);
        }
      } else {
        killEverything();
      }
    }
  }
  if (fds[0].revents & POLLIN) {
    signalfd_siginfo si;
    while (::read(sigFd_, &si, sizeof si) == sizeof si) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) continue;  // reaped below in any case
      if (debug_) say("got %s", signalName(sig).c_str());
      // The terminal (SI_KERNEL) signals its whole foreground process group, the apps included:
      // forwarding its SIGINT or SIGHUP would deliver it twice.
      if (si.ssi_code == SI_KERNEL && sig != SIGTERM) continue;
      if (sig == SIGTERM && !postStopPhase_) {
        beginStop();
      } else {
        forward(sig);
      }
    }
    reap();
  }
}

void PodInit::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& app : apps_) {
      if (pid == app->handler) {
        app->handler = 0;
        app->handlerStatus = status;
      } else if (pid == app->pid && app->state == App::State::kRunning) {
        onAppExit(*app, status);
      }
    }
  }
}

void PodInit::finish(App& app, int status) {
  app.out.pump();
  app.err.pump();
  app.state = App::State::kExited;
  app.finishedAt = nowNs();
  if (WIFSIGNALED(status)) {
    app.signal = WTERMSIG(status);
  } else {
    app.exitCode = codeOf(status);
  }
  try {
    app.oomKilled = app.cgroup.oomKills() > 0;
  } catch (const std::exception& e) {
    say("%s: cannot read the OOM count: %s", app.name.c_str(), e.what());
  }
  writeStatus(app);
  if (debug_) say("app %s exited: status %d", app.name.c_str(), codeOf(status));
  bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (failed) {
    if (!exitCode_) exitCode_ = codeOf(status);
    beginStop();
  }
}

void PodInit::onAppExit(App& app, int status) { finish(app, status); }

void PodInit::beginStop() {
  if (stopping_) return;
  stopping_ = true;
  // Each app gets its own stop signal (the image's StopSignal or --stop-signal); a running
  // pre-start or post-stop handler gets SIGTERM.
  for (auto& app : apps_) {
    if (app->state == App::State::kRunning && app->pid > 0) ::kill(app->pid, app->stopSignal);
    if (app->handler > 0) ::kill(app->handler, SIGTERM);
  }
  armTimer(graceSeconds_);
}

void PodInit::forward(int sig) {
  for (auto& app : apps_) {
    if (app->state == App::State::kRunning && app->pid > 0) ::kill(app->pid, sig);
    if (app->handler > 0) ::kill(app->handler, sig);
  }
}

void PodInit::killEverything() {
  if (::getpid() == 1) {
    ::kill(-1, SIGKILL);  // every process of the pod's PID namespace but this one
    return;
  }
  // Not a namespace's init (a test, or a stage1 without a PID namespace): only what is ours.
  for (auto& app : apps_) {
    if (app->state == App::State::kRunning && app->pid > 0) ::kill(app->pid, SIGKILL);
    if (app->handler > 0) ::kill(app->handler, SIGKILL);
    try {
      for (pid_t p : app->cgroup.pids()) ::kill(p, SIGKILL);
    } catch (const std::exception&) {
      // The app's own pid was killed above; nothing better to do for the rest.
    }
  }
}

void PodInit::armTimer(int seconds) {
  itimerspec spec{};
  spec.it_value.tv_sec = seconds;
  if (seconds == 0) spec.it_value.tv_nsec = 1;  // 0 would disarm
  ::timerfd_settime(timerFd_, 0, &spec, nullptr);
}

void PodInit::writeStatus(const App& app) {
  static const char* kStates[] = {"created", "running", "exited"};
  stage1::AppStatus status;
  status.name = app.name;
  status.state = kStates[static_cast<int>(app.state)];
  if (app.pid > 0) status.pid = app.pid;
  status.createdAt = app.createdAt;
  if (app.startedAt) status.startedAt = app.startedAt;
  if (app.finishedAt) status.finishedAt = app.finishedAt;
  status.exitCode = app.exitCode;
  if (app.signal) status.signal = signalName(*app.signal);
  status.oomKilled = app.oomKilled;
  if (!stage1::writeStatusAt(statusFd_, status)) {
    say("cannot write \"%s/status/%s.json\": %s", podDir_.c_str(), app.name.c_str(),
        std::strerror(errno));
  }
}

// The environment the stage1 gave the init (and nothing else does: the init starts with an
// empty one) says which descriptors systemd passed: LISTEN_FDS=N at 3 … N+2, named by
// LISTEN_FDNAMES. Each goes to the app with a socket-activated port of its name; when one app
// alone has such ports, it gets them all (a socket unit names its descriptors after itself by
// default). Notify sockets: notify/<app> in the pod directory, bound through /proc/self/fd (a
// pod directory's path may not fit in sun_path), writable by any user of the app.
bool PodInit::setupSystemd() {
  int listenCount = 0;
  if (const char* n = ::getenv("LISTEN_FDS"))
    listenCount = std::max(0, std::min(std::atoi(n), 1024));
  std::vector<std::string> names;
  if (const char* v = ::getenv("LISTEN_FDNAMES")) {
    std::string all = v;
    for (size_t start = 0; start <= all.size();) {
      size_t colon = std::min(all.find(':', start), all.size());
      names.push_back(all.substr(start, colon - start));
      start = colon + 1;
    }
  }
  names.resize(static_cast<size_t>(listenCount));
  std::vector<App*> activated;
  for (auto& app : apps_) {
    if (!app->socketPorts.empty()) activated.push_back(app.get());
  }
  for (int i = 0; i < listenCount; ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    App* to = nullptr;
    for (App* a : activated) {
      if (std::find(a->socketPorts.begin(), a->socketPorts.end(), name) != a->socketPorts.end()) {
        to = a;
      }
    }
    if (to == nullptr && activated.size() == 1) to = activated[0];
    if (to == nullptr) {
      say("socket %d (%s): no app has a socket-activated port of that name; not passed", 3 + i,
          name.empty() ? "unnamed" : name.c_str());
      continue;
    }
    to->listenFds.push_back(3 + i);
  }
  for (auto& app : apps_) {
    if (!app->listenFds.empty()) {
      app->env.push_back("LISTEN_FDS=" + std::to_string(app->listenFds.size()));
      std::string fdNames;
      for (size_t k = 0; k < app->listenFds.size(); ++k) {
        fdNames += (k ? ":" : "") + names[static_cast<size_t>(app->listenFds[k] - 3)];
      }
      app->env.push_back("LISTEN_FDNAMES=" + fdNames);
      app->listenFdNames = fdNames;
    }
    for (const auto& e : app->env) app->envp.push_back(e.c_str());
    app->envp.push_back(nullptr);
  }

  bool anyNotify = std::any_of(apps_.begin(), apps_.end(), [](const auto& a) { return a->notify; });
  if (!anyNotify) return true;
  if (::mkdirat(podFd_, "notify", 0700) != 0 && errno != EEXIST) {
    say("cannot create \"%s/notify\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  int dirFd = ::openat(podFd_, "notify", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirFd < 0) {
    say("cannot open \"%s/notify\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  bool ok = true;
  for (auto& app : apps_) {
    if (!app->notify) continue;
    std::string file = app->name;
    std::replace(file.begin(), file.end(), '/', '_');
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirFd, file.c_str());
    ::unlinkat(dirFd, file.c_str(), 0);
    app->notifyFd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (app->notifyFd < 0 ||
        ::bind(app->notifyFd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::fchmodat(dirFd, file.c_str(), 0666, 0) != 0) {
      say("%s: cannot make its notify socket \"%s/notify/%s\": %s", app->name.c_str(),
          podDir_.c_str(), file.c_str(), std::strerror(errno));
      ok = false;
      break;
    }
  }
  ::close(dirFd);
  return ok;
}

// sd_notify's datagrams: newline-separated assignments; READY=1 is the one that counts here.
void PodInit::onNotify(App& app) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(app.notifyFd, buf, sizeof buf - 1, 0);
    if (n < 0) return;  // EAGAIN: drained
    std::string_view msg(buf, static_cast<size_t>(n));
    for (size_t start = 0; start < msg.size();) {
      size_t nl = std::min(msg.find('\n', start), msg.size());
      if (msg.substr(start, nl - start) == "READY=1" && !app.notified) {
        app.notified = true;
        if (debug_) say("app %s is ready (sd_notify)", app.name.c_str());
      }
      start = nl + 1;
    }
    if (app.notified) break;
  }
  maybeReady();
}

// `ready`: every app started, and every app that speaks sd_notify said READY=1.
void PodInit::maybeReady() {
  if (ready_ || !allStarted_) return;
  for (const auto& app : apps_) {
    if (app->notify && !app->notified) return;
  }
  ready_ = true;
  int fd = ::openat(podFd_, "ready", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

int PodInit::waitHandler(App& app) {
  while (app.handler > 0) loopOnce();
  return app.handlerStatus;
}

int PodInit::run() {
  // Descriptors we inherited (the pod's lock among them) are not the apps' business; the
  // socket-activation ones go to their apps only, each through its own dup (spawn).
  ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  if (!load()) return kOwnFailure;
  if (!setupSystemd()) return kOwnFailure;

  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigFd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  timerFd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (sigFd_ < 0 || timerFd_ < 0) {
    say("cannot create a signalfd or timerfd: %s", std::strerror(errno));
    return kOwnFailure;
  }
  for (auto [dir, fd] : {std::pair{"logs", &logsFd_}, std::pair{"status", &statusFd_}}) {
    if (::mkdirat(podFd_, dir, 0700) != 0 && errno != EEXIST) {
      say("cannot create \"%s/%s\": %s", podDir_.c_str(), dir, std::strerror(errno));
      return kOwnFailure;
    }
    *fd = ::openat(podFd_, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0) {
      say("cannot open \"%s/%s\": %s", podDir_.c_str(), dir, std::strerror(errno));
      return kOwnFailure;
    }
  }
  for (auto& app : apps_) {
    if (!setupApp(*app)) {
      say("%s: cannot create pipes: %s", app->name.c_str(), std::strerror(errno));
      return kOwnFailure;
    }
    writeStatus(*app);
  }

  bool allStarted = true;
  for (auto& app : apps_) {
    if (app->preStart && !stopping_) {
      app->handler = spawn(*app, "pre-start");
      int status = app->handler > 0 ? waitHandler(*app) : kOwnFailure << 8;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        say("%s: pre-start handler failed (status %d)", app->name.c_str(), codeOf(status));
        finish(*app, status);
      }
    }
    if (stopping_) {
      allStarted = false;
      break;
    }
    app->pid = spawn(*app, nullptr);
    if (app->pid < 0) {
      app->pid = 0;
      finish(*app, kOwnFailure << 8);
      allStarted = false;
      break;
    }
    app->state = App::State::kRunning;
    app->started = true;
    app->startedAt = nowNs();
    writeStatus(*app);
    if (debug_) say("app %s started: pid %d", app->name.c_str(), app->pid);
  }
  if (allStarted) {
    allStarted_ = true;
    maybeReady();
  }

  while (anyRunning()) loopOnce();

  itimerspec off{};
  ::timerfd_settime(timerFd_, 0, &off, nullptr);
  postStopPhase_ = true;
  for (auto& app : apps_) {
    if (!app->started || !app->postStop) continue;
    app->handler = spawn(*app, "post-stop");
    if (app->handler <= 0) {
      app->handler = 0;
      continue;
    }
    armTimer(graceSeconds_);
    int status = waitHandler(*app);
    ::timerfd_settime(timerFd_, 0, &off, nullptr);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      say("%s: post-stop handler failed (status %d)", app->name.c_str(), codeOf(status));
    }
  }
  for (auto& app : apps_) {
    app->out.pump();
    app->err.pump();
    app->out.flush();
    app->err.flush();
  }
  if (journal_) {
    // The journal gets the rest while it takes any (a busy journald is slow, not stuck); one
    // that took nothing for a second would hold the pod's end as long as it stalls.
    // With two, the first is the pod's own journal, the second the system's.
    std::vector<uint64_t> lost = journal_->finish(kJournalIdleMs);
    for (size_t j = 0; j < lost.size(); ++j) {
      if (lost[j] == 0) continue;
      say("the journal took nothing for %d ms: %llu lines of the apps' output dropped%s",
          kJournalIdleMs, static_cast<unsigned long long>(lost[j]),
          lost.size() < 2 ? ""
          : j == 0        ? " (the pod's own journal)"
                          : " (the system's journal)");
    }
  }
  return exitCode_.value_or(0);
}

}  // namespace

int runPod(const std::string& podDir) noexcept {
  try {
    PodInit init(podDir);
    return init.run();
  } catch (const std::exception& e) {
    say("%s", e.what());
    return kOwnFailure;
  }
}

}  // namespace ferry::init
