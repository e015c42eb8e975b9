#include "stage1/ns/console.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "common/error.hpp"

namespace ferry::stage1 {

Console::Console(bool interactive) : interactive_(interactive) {
  if (!interactive_) return;
  terminal_ = ::isatty(STDIN_FILENO) != 0;
  if (terminal_) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      throwErrno("create the console socket");
    }
    socketParent_ = UniqueFd(sv[0]);
    socketChild_ = UniqueFd(sv[1]);
  } else {
    pipes_ = pty::pipesForTerminals(proxy_);
  }
}

Console::~Console() {
  if (raw_) raw_->restore();
}

void Console::addSignals(sigset_t* set) const {
  if (terminal_) ::sigaddset(set, SIGWINCH);
}

int Console::applyInChild() const noexcept {
  if (socketChild_) {
    for (int fd = 0; fd < 3; ++fd) {
      if (::dup2(socketChild_.get(), fd) < 0) return errno;
    }
  }
  return pty::applyInChild(pipes_);
}

void Console::afterClone() {
  socketChild_.reset();
  pipes_.keep.clear();
}

void Console::onConsoleSocket() {
  char buf[4096];
  UniqueFd fd;
  ssize_t n = pty::receive(socketParent_.get(), buf, sizeof buf, &fd);
  if (n <= 0) {
    socketParent_.reset();  // every process of the pod closed it
    return;
  }
  std::string_view text(buf, static_cast<size_t>(n));
  if (fd && proxy_.master() < 0) {
    // stage2's pty (ABI §5). Its one byte is no text: the kernel ends a read with the message
    // that carries descriptors, so the byte is the last one read.
    unsigned int ptyNumber = 0;
    if (::ioctl(fd.get(), TIOCGPTN, &ptyNumber) == 0) {
      raw_ = std::make_unique<pty::RawMode>(STDIN_FILENO);
      pty::copyWindowSize(STDIN_FILENO, fd.get());
      proxy_.attach(STDIN_FILENO, STDOUT_FILENO, std::move(fd));
    }
    text.remove_suffix(1);
  }
  if (text.empty()) return;
  std::string out = raw_ && raw_->active() ? pty::Proxy::crlf(text) : std::string(text);
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, out.data(), out.size());
}

int Console::waitForPod(pid_t pid, int sigFd,
                        const std::function<void(const std::string&)>& debug) {
  return waitForPod(pid, sigFd, debug, [&](int sig) {
    debug("forwarding signal " + std::to_string(sig) + " to the pod init");
    ::kill(pid, sig);
  });
}

int Console::waitForPod(pid_t pid, int sigFd, const std::function<void(const std::string&)>& debug,
                        const std::function<void(int)>& forward) {
  std::optional<int> code;
  while (!code) {
    std::vector<pollfd> fds;
    fds.push_back({sigFd, POLLIN, 0});
    fds.push_back({socketParent_ ? socketParent_.get() : -1, POLLIN, 0});
    proxy_.prepare(fds);
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throwErrno("wait for the pod");
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sigFd, &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
          if (proxy_.master() >= 0) pty::copyWindowSize(STDIN_FILENO, proxy_.master());
        } else if (sig != SIGCHLD) {
          // The pod is a session of its own: what the caller's terminal sends this process
          // (SI_KERNEL) reaches the pod only this way.
          forward(sig);
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) onConsoleSocket();
    proxy_.handle(fds);
    int status = 0;
    pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got < 0 && errno != EINTR) throwErrno("wait for the pod init");
    if (got == pid && WIFEXITED(status)) code = WEXITSTATUS(status);
    if (got == pid && WIFSIGNALED(status)) {
      debug("the pod init was killed by signal " + std::to_string(WTERMSIG(status)));
      code = 128 + WTERMSIG(status);
    }
  }
  // The pod has ended: what it wrote last, then the caller's terminal as it was.
  proxy_.finish();
  while (socketParent_) {
    pollfd p{socketParent_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    onConsoleSocket();
  }
  if (raw_) raw_->restore();
  return *code;
}

}  // namespace ferry::stage1
