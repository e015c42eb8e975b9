#include "stage1/ns/enter_terminal.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include "common/error.hpp"

namespace ferry::stage1 {

namespace {

constexpr int kSignals[] = {SIGCHLD, SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT};

}  // namespace

EnterTerminal::EnterTerminal() {
  terminal_ = ::isatty(STDIN_FILENO) != 0;
  if (terminal_) {
    pair_ = pty::openPair("/dev/pts/ptmx");
  } else {
    pipes_ = pty::pipesForTerminals(proxy_);
  }
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : kSignals) ::sigaddset(&set, sig);
  if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) throwErrno("block signals");
  sigFd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sigFd_) throwErrno("create a signalfd");
}

EnterTerminal::~EnterTerminal() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

void EnterTerminal::inChild() {
  sigFd_.reset();
  int e = 0;
  if (terminal_) {
    pair_.master.reset();
    e = pty::becomeControllingTerminal(pair_.slave.release());
  } else {
    e = pty::applyInChild(pipes_);
  }
  if (e != 0) throwErrno(e, "set up the command's terminal");
  ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int EnterTerminal::waitFor(pid_t child) {
  pair_.slave.reset();
  pipes_.keep.clear();
  std::unique_ptr<pty::RawMode> raw;
  if (terminal_) {
    raw = std::make_unique<pty::RawMode>(STDIN_FILENO);
    pty::copyWindowSize(STDIN_FILENO, pair_.master.get());
    proxy_.attach(STDIN_FILENO, STDOUT_FILENO, std::move(pair_.master));
  }
  std::optional<int> status;
  while (!status) {
    std::vector<pollfd> fds;
    fds.push_back({sigFd_.get(), POLLIN, 0});
    proxy_.prepare(fds);
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throwErrno("wait for the command");
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sigFd_.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
          if (proxy_.master() >= 0) pty::copyWindowSize(STDIN_FILENO, proxy_.master());
        } else if (sig != SIGCHLD) {
          ::kill(child, sig);
        }
      }
    }
    proxy_.handle(fds);
    int st = 0;
    pid_t got = ::waitpid(child, &st, WNOHANG);
    if (got < 0 && errno != EINTR) throwErrno("wait for the command");
    if (got == child && (WIFEXITED(st) || WIFSIGNALED(st))) status = st;
  }
  proxy_.finish();
  if (raw) raw->restore();
  if (WIFEXITED(*status)) return WEXITSTATUS(*status);
  return 128 + WTERMSIG(*status);
}

}  // namespace ferry::stage1
