// ferry-init's run (pod_init.hpp): the pod set up, its apps started in order, the loop until
// they ended, then the post-stop handlers and the rest of the logs. The parts are in pod.hpp.
#include "stage2/init/pod_init.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>

#include "stage1/common/status.hpp"
#include "stage2/init/pod.hpp"

namespace ferry::init {

namespace {

using stage1::nowNs;
// At the pod's end, how long the journal may take no entry before what waits is dropped.
constexpr int kJournalIdleMs = 1000;

}  // namespace

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

int codeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kOwnFailure;
}

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
  // "created" is written for an app that waits for something before its start (a pre-start
  // handler, an app before it); a lone app without a handler goes straight to "running".
  bool lone = apps_.size() == 1 && !apps_.front()->preStart;
  for (auto& app : apps_) {
    if (!setupApp(*app)) {
      say("%s: cannot create pipes: %s", app->name.c_str(), std::strerror(errno));
      return kOwnFailure;
    }
    if (!lone) writeStatus(*app);
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
      if (lone) writeStatus(*app);  // never started: "created", as for the others
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
