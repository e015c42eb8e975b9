// The pod init's loop (loopOnce): one poll over the signalfd, the stop grace's timerfd, the apps'
// output and notify sockets and the journal; what it does with them: reap (an app's end, a
// handler's), the stop (each app's stop signal, then SIGKILL after the grace), signals forwarded,
// and status/<app>.json rewritten at each change.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "common/signals.hpp"
#include "stage1/common/status.hpp"
#include "stage2/init/pod.hpp"

namespace ferry::init {

using stage1::nowNs;

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

int PodInit::waitHandler(App& app) {
  while (app.handler > 0) loopOnce();
  return app.handlerStatus;
}

}  // namespace ferry::init
