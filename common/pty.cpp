#include "common/pty.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/fd_passing.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace ferry::pty {

namespace fs = std::filesystem;

Pair openPair(const fs::path& ptmx) {
  Pair p;
  p.master = openFile(ptmx, O_RDWR | O_NOCTTY | O_NOFOLLOW);
  unsigned int n = 0;
  if (::ioctl(p.master.get(), TIOCGPTN, &n) != 0) {
    throwErrno("use " + quote(ptmx.string()) + " as a pty multiplexer");
  }
  int unlock = 0;
  if (::ioctl(p.master.get(), TIOCSPTLCK, &unlock) != 0)
    throwErrno("unlock pty " + std::to_string(n));
  int slave = ::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) throwErrno("open the slave of pty " + std::to_string(n));
  p.slave = UniqueFd(slave);
  return p;
}

int becomeControllingTerminal(int slave) noexcept {
  if (::setsid() < 0) return errno;
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) return errno;
  for (int fd = 0; fd < 3; ++fd) {
    if (fd != slave && ::dup2(slave, fd) < 0) return errno;
  }
  if (slave > 2) ::close(slave);
  return 0;
}

void sendFd(int socket, int fd) {
  if (sendWithFds(socket, "T", {&fd, 1}) != 1) throwErrno("pass the pty to the stage1");
}

ssize_t receive(int socket, char* buf, size_t size, UniqueFd* fd) noexcept {
  int got[4];
  FdMessage m = receiveWithFds(socket, buf, size, got);
  // One descriptor is expected; any other is closed.
  for (size_t i = 0; i < m.fds; ++i) {
    if (i == 0 && fd != nullptr) {
      fd->reset(got[i]);
    } else {
      ::close(got[i]);
    }
  }
  return m.bytes;
}

bool attachToConsoleSocket() {
  struct stat st;
  if (::fstat(STDIN_FILENO, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  Pair p = openPair("/dev/pts/ptmx");
  // /dev/console is the app's terminal, as the OCI runtime spec has it for process.terminal.
  std::string slavePath = "/proc/self/fd/" + std::to_string(p.slave.get());
  if (::mount(slavePath.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
    throwErrno("bind the app's terminal onto /dev/console");
  }
  sendFd(STDIN_FILENO, p.master.get());
  p.master.reset();
  if (int e = becomeControllingTerminal(p.slave.get()); e != 0) {
    throwErrno(e, "make the pty the app's controlling terminal");
  }
  (void)p.slave.release();  // now fds 0, 1, 2 (closed by becomeControllingTerminal)
  return true;
}

bool copyWindowSize(int from, int to) noexcept {
  winsize ws{};
  if (::ioctl(from, TIOCGWINSZ, &ws) != 0) return false;
  return ::ioctl(to, TIOCSWINSZ, &ws) == 0;
}

// ---------------------------------------------------------------------------------------------
// RawMode

namespace {

// The terminal a fatal signal must restore (one at a time: a process proxies one terminal).
int gRawFd = -1;
termios gRawSaved{};
constexpr int kFatalSignals[] = {SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
                                 SIGSEGV, SIGBUS, SIGILL,  SIGFPE};

void restoreAndDie(int sig) {
  if (gRawFd >= 0) ::tcsetattr(gRawFd, TCSANOW, &gRawSaved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

RawMode::RawMode(int fd) : fd_(fd) {
  if (::tcgetattr(fd, &saved_) != 0) return;  // no terminal: nothing to do
  termios raw = saved_;
  ::cfmakeraw(&raw);
  // TCSANOW: what the caller typed ahead stays to be read (and reaches the pod).
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) throwErrno("put the terminal in raw mode");
  active_ = true;
  gRawFd = fd;
  gRawSaved = saved_;
  struct sigaction sa {};
  sa.sa_handler = restoreAndDie;
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : kFatalSignals) {
    struct sigaction old {};
    // A signal the process ignores or handles itself stays as it is.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      ::sigaction(sig, &sa, nullptr);
    }
  }
}

RawMode::~RawMode() { restore(); }

void RawMode::restore() noexcept {
  if (!active_) return;
  active_ = false;
  ::tcsetattr(fd_, TCSADRAIN, &saved_);
  for (int sig : kFatalSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == restoreAndDie) {
      ::signal(sig, SIG_DFL);
    }
  }
  gRawFd = -1;
}

// ---------------------------------------------------------------------------------------------
// Proxy

namespace {

constexpr size_t kChunk = 1 << 14;

// Writes all of it to a (blocking) fd; false when the fd is gone.
bool writeAllTo(int fd, const char* data, size_t size) noexcept {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void Proxy::attach(int in, int out, UniqueFd master) {
  in_ = in;
  out_ = out;
  master_ = std::move(master);
  int flags = ::fcntl(master_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master_.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throwErrno("make the pty master non-blocking");
  }
  inOpen_ = in_ >= 0;
}

void Proxy::addCopy(UniqueFd from, int to) { copies_.push_back({std::move(from), to}); }

void Proxy::prepare(std::vector<pollfd>& fds) {
  first_ = fds.size();
  withMaster_ = static_cast<bool>(master_);
  if (withMaster_) {
    short ev = POLLIN;
    if (!pending_.empty()) ev |= POLLOUT;
    fds.push_back({master_.get(), ev, 0});
    // The caller's input waits while the master has not taken the last of it.
    fds.push_back({inOpen_ && pending_.empty() ? in_ : -1, POLLIN, 0});
  }
  for (const Copy& c : copies_) fds.push_back({c.from.get(), POLLIN, 0});
  count_ = fds.size() - first_;
}

bool Proxy::copyOnce(int from, int to) {
  char buf[kChunk];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;  // EOF, or EIO: a pty master whose slaves are all closed
  if (to == out_ && !outOpen_) return true;
  if (!writeAllTo(to, buf, static_cast<size_t>(n)) && to == out_) outOpen_ = false;
  return true;
}

void Proxy::readIn() {
  char buf[kChunk];
  ssize_t n = ::read(in_, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    // The caller's input ended (or its terminal hung up): the pty gets its end-of-file
    // character, which a program in canonical mode reads as EOF.
    inOpen_ = false;
    termios t{};
    char eof = ::tcgetattr(master_.get(), &t) == 0 && t.c_cc[VEOF] != 0 ? t.c_cc[VEOF] : '\x04';
    pending_.push_back(eof);
  } else {
    pending_.append(buf, static_cast<size_t>(n));
  }
  flushToMaster();
}

void Proxy::flushToMaster() {
  while (!pending_.empty()) {
    ssize_t n = ::write(master_.get(), pending_.data(), pending_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) pending_.clear();  // the pod side is gone
      return;
    }
    pending_.erase(0, static_cast<size_t>(n));
  }
}

void Proxy::handle(const std::vector<pollfd>& fds) {
  if (fds.size() < first_ + count_) return;
  size_t i = first_;
  if (withMaster_) {
    const pollfd& m = fds[i++];
    const pollfd& in = fds[i++];
    if (master_ && (m.revents & POLLOUT)) flushToMaster();
    if (master_ && (m.revents & (POLLIN | POLLHUP | POLLERR)) && !copyOnce(master_.get(), out_)) {
      // EIO: every slave is closed, the pod side has ended (its output was read before).
      master_.reset();
      inOpen_ = false;
      pending_.clear();
    }
    if (master_ && in.fd >= 0 && (in.revents & (POLLIN | POLLHUP | POLLERR))) readIn();
  }
  for (size_t c = 0; c < copies_.size() && i < first_ + count_; ++c, ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    if (!copyOnce(copies_[c].from.get(), copies_[c].to)) copies_[c].from.reset();
  }
  std::erase_if(copies_, [](const Copy& c) { return !c.from; });
}

void Proxy::finish() noexcept {
  if (master_) {
    while (copyOnce(master_.get(), out_)) {
      pollfd p{master_.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0) break;
    }
  }
  for (Copy& c : copies_) {
    int flags = ::fcntl(c.from.get(), F_GETFL);
    if (flags >= 0) ::fcntl(c.from.get(), F_SETFL, flags | O_NONBLOCK);
    while (copyOnce(c.from.get(), c.to)) {
      pollfd p{c.from.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
    }
  }
  copies_.clear();
}

std::string Proxy::crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' && (out.empty() || out.back() != '\r')) out += '\r';
    out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Without a pty

PipePlan pipesForTerminals(Proxy& proxy) {
  PipePlan plan;
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    if (::isatty(fd) == 0) continue;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("create a pipe");
    proxy.addCopy(UniqueFd(p[0]), fd);
    plan.fds[fd] = p[1];
    plan.keep.emplace_back(p[1]);
  }
  return plan;
}

int applyInChild(const PipePlan& plan) noexcept {
  for (int fd = 0; fd < 3; ++fd) {
    if (plan.fds[fd] >= 0 && ::dup2(plan.fds[fd], fd) < 0) return errno;
  }
  if (::setsid() < 0) return errno;
  return 0;
}

}  // namespace ferry::pty
