// Terminals for pod processes. A pod never gets the caller's terminal: a process holding it as
// its controlling terminal can push input into the caller's shell (ioctl TIOCSTI), change its
// modes or read its keystrokes. The pod side gets a pty of its own devpts instance instead, and
// ferry copies bytes between the caller's terminal and the pty master, as `docker exec -t` and
// systemd-nspawn do:
//
//   caller's terminal ── RawMode ── Proxy ── master ║ slave ── the app (its own session,
//   (stdin, stdout)                                 ║          controlling terminal, fds 0 1 2)
//
//   openPair                   a pty pair from a ptmx (the pod's /dev/pts/ptmx), the slave
//                              through TIOCGPTPEER (no path lookup in the pod's tree)
//   becomeControllingTerminal  in the child: setsid(), TIOCSCTTY, the slave on 0, 1 and 2
//   sendFd / receiveFd         the master travels over a unix socket (SCM_RIGHTS): stage2
//                              allocates it inside the app's mount namespace (ABI §5)
//   RawMode                    the caller's terminal raw while proxying, restored on every exit
//                              path, fatal signals included
//   copyWindowSize             the caller's size onto the pty (at start and on SIGWINCH)
//   Proxy                      the poll loop's part: stdin → master, master → stdout, and pipes
//                              standing in for a caller's terminal on stdout/stderr when stdin
//                              is no terminal (no pty then, and no terminal reaches the pod)
#pragma once

#include <poll.h>
#include <termios.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/fs.hpp"

namespace ferry::pty {

struct Pair {
  UniqueFd master;
  UniqueFd slave;
};

// Opens `ptmx` (O_NOFOLLOW; it must answer TIOCGPTN, i.e. be a pty multiplexer), unlocks the new
// pty and opens its slave through TIOCGPTPEER. Both O_CLOEXEC; the slave O_NOCTTY.
Pair openPair(const std::filesystem::path& ptmx);

// For a child after fork (no allocation): a new session whose controlling terminal is `slave`,
// which becomes fds 0, 1 and 2 (and is closed when it was another fd). 0 or an errno.
int becomeControllingTerminal(int slave) noexcept;

// Passes one descriptor with one byte ('T') over a unix socket.
void sendFd(int socket, int fd);
// recvmsg(2) of up to `size` bytes; a descriptor that came along lands in *fd (O_CLOEXEC).
// Returns the bytes read: 0 at EOF, -1 with errno on error (EINTR retried).
ssize_t receive(int socket, char* buf, size_t size, UniqueFd* fd) noexcept;

// For stage2 when process.terminal is set and stdin is a unix socket (the stage1's console
// socket, ABI §5): a pty of the devpts instance at /dev/pts (the app's own, after pivot_root),
// bound onto /dev/console; its master goes over the socket, the slave becomes the controlling
// terminal and fds 0, 1, 2 of this process (a new session). False, nothing done, when stdin is
// not a socket.
bool attachToConsoleSocket();

// Copies the window size of the terminal `from` onto the pty `to`; false when `from` is none.
bool copyWindowSize(int from, int to) noexcept;

// The terminal on `fd` in raw mode (cfmakeraw) for the object's life. Restored by restore(), the
// destructor, and by a handler of the fatal signals (SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV,
// SIGBUS, SIGILL, SIGFPE) that then dies of the signal. Nothing happens when fd is no terminal.
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  bool active() const { return active_; }
  void restore() noexcept;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// The copying half of a poll loop. The caller polls the fds prepare() adds (with its own, e.g. a
// signalfd), then calls handle(); finish() drains what the pod side wrote last.
class Proxy {
 public:
  Proxy() = default;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // The pty: in → master, master → out. in's end of file becomes the pty's EOF character.
  void attach(int in, int out, UniqueFd master);
  int master() const { return master_.get(); }
  // A pipe the pod side writes, copied to `to` (a terminal of the caller's).
  void addCopy(UniqueFd from, int to);

  void prepare(std::vector<pollfd>& fds);
  void handle(const std::vector<pollfd>& fds);
  // Copies whatever is left to read (the pod side has ended), without waiting for more.
  void finish() noexcept;
  // While the caller's terminal is raw, lines written to it by others need "\r\n".
  static std::string crlf(std::string_view text);

 private:
  struct Copy {
    UniqueFd from;
    int to;
  };
  void readIn();
  void flushToMaster();
  bool copyOnce(int from, int to);  // false at EOF/error of `from`

  int in_ = -1, out_ = -1;
  UniqueFd master_;
  std::string pending_;  // read from in_, not yet taken by the master
  bool inOpen_ = false;
  bool outOpen_ = true;
  std::vector<Copy> copies_;
  size_t first_ = 0;  // where prepare() put our fds
  bool withMaster_ = false;
  size_t count_ = 0;
};

// For the child after fork when stdin is no terminal: each of fds 1 and 2 that is a terminal of
// the caller's gets a pipe instead (`plan` keeps the write ends, `proxy` the read ends).
struct PipePlan {
  int fds[3] = {-1, -1, -1};   // what becomes 0, 1, 2 in the child; -1: keep
  std::vector<UniqueFd> keep;  // the child's ends, closed by the parent after the fork
};
PipePlan pipesForTerminals(Proxy& proxy);

// In the child: dup2 the planned fds onto 0, 1, 2 and start a new session without a
// controlling terminal. 0 or an errno.
int applyInChild(const PipePlan& plan) noexcept;

}  // namespace ferry::pty
