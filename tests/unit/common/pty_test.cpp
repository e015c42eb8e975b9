// The pty module with real ptys (openpty plays the caller's terminal): a pair from a ptmx, the
// controlling terminal of a child, the master passed over a socket, window sizes, raw mode and
// its restoration, and the proxy copying both ways.
#include "common/pty.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace ferry::pty {
namespace {

// openpty(3): the caller's terminal in these tests.
struct Caller {
  UniqueFd master, slave;
  Caller() {
    int m = -1, s = -1;
    if (::openpty(&m, &s, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty");
    master.reset(m);
    slave.reset(s);
  }
};

std::string readSome(int fd, int timeoutMs = 2000) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeoutMs) <= 0) return "";
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(Pty, OpenPairGivesAConnectedPair) {
  Pair p = openPair("/dev/ptmx");
  ASSERT_TRUE(p.master);
  ASSERT_TRUE(p.slave);
  EXPECT_TRUE(::isatty(p.slave.get()));
  termios t{};
  ASSERT_EQ(::tcgetattr(p.slave.get(), &t), 0);
  cfmakeraw(&t);
  ASSERT_EQ(::tcsetattr(p.slave.get(), TCSANOW, &t), 0);
  ASSERT_EQ(::write(p.slave.get(), "x", 1), 1);
  EXPECT_EQ(readSome(p.master.get()), "x");
}

TEST(Pty, OpenPairRefusesWhatIsNoMultiplexer) {
  EXPECT_THROW(openPair("/dev/null"), std::system_error);
  EXPECT_THROW(openPair("/nonexistent/ptmx"), std::system_error);
}

TEST(Pty, CopiesTheWindowSize) {
  Caller caller;
  winsize ws{};
  ws.ws_row = 42;
  ws.ws_col = 123;
  ASSERT_EQ(::ioctl(caller.slave.get(), TIOCSWINSZ, &ws), 0);
  Pair p = openPair("/dev/ptmx");
  EXPECT_TRUE(copyWindowSize(caller.slave.get(), p.master.get()));
  winsize got{};
  ASSERT_EQ(::ioctl(p.slave.get(), TIOCGWINSZ, &got), 0);
  EXPECT_EQ(got.ws_row, 42);
  EXPECT_EQ(got.ws_col, 123);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(copyWindowSize(null.get(), p.master.get()));
}

TEST(Pty, RawModeIsRestored) {
  Caller caller;
  termios before{};
  ASSERT_EQ(::tcgetattr(caller.slave.get(), &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  {
    RawMode raw(caller.slave.get());
    EXPECT_TRUE(raw.active());
    termios during{};
    ASSERT_EQ(::tcgetattr(caller.slave.get(), &during), 0);
    EXPECT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG));
  }
  termios after{};
  ASSERT_EQ(::tcgetattr(caller.slave.get(), &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  RawMode none(null.get());
  EXPECT_FALSE(none.active());
}

TEST(Pty, RawModeIsRestoredWhenASignalKills) {
  Caller caller;
  termios before{};
  ASSERT_EQ(::tcgetattr(caller.slave.get(), &before), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    RawMode raw(caller.slave.get());
    ::raise(SIGTERM);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  termios after{};
  ASSERT_EQ(::tcgetattr(caller.slave.get(), &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
}

TEST(Pty, TheChildGetsItsOwnControllingTerminal) {
  Pair p = openPair("/dev/ptmx");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    p.master.reset();
    if (becomeControllingTerminal(p.slave.release()) != 0) ::_exit(1);
    // A session leader whose controlling terminal is the pty on 0, 1 and 2.
    if (::getsid(0) != ::getpid() || ::tcgetsid(0) != ::getpid()) ::_exit(2);
    if (!::isatty(1) || !::isatty(2)) ::_exit(3);
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
    if (!tty) ::_exit(4);
    ::_exit(0);
  }
  p.slave.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Pty, TheMasterTravelsOverASocket) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  Pair p = openPair("/dev/ptmx");
  sendFd(a.get(), p.master.get());
  ASSERT_EQ(::write(a.get(), "text", 4), 4);
  char buf[16];
  UniqueFd got;
  ssize_t n = receive(b.get(), buf, 1, &got);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(buf[0], 'T');
  ASSERT_TRUE(got);
  unsigned int number = 0;
  EXPECT_EQ(::ioctl(got.get(), TIOCGPTN, &number), 0);
  UniqueFd none;
  n = receive(b.get(), buf, sizeof buf, &none);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "text");
  EXPECT_FALSE(none);
  a.reset();
  EXPECT_EQ(receive(b.get(), buf, sizeof buf, &none), 0);
}

// Runs the proxy until `until` holds or 2 s pass.
template <class F>
void pump(Proxy& proxy, F until) {
  for (int i = 0; i < 200 && !until(); ++i) {
    std::vector<pollfd> fds;
    proxy.prepare(fds);
    ::poll(fds.data(), fds.size(), 10);
    proxy.handle(fds);
  }
}

TEST(Pty, ProxyCopiesBothWaysAndPassesEof) {
  Caller caller;
  RawMode raw(caller.slave.get());
  Pair pod = openPair("/dev/ptmx");
  Proxy proxy;
  proxy.attach(caller.slave.get(), caller.slave.get(), std::move(pod.master));
  // Typed by the caller: the pod's side reads the line.
  ASSERT_EQ(::write(caller.master.get(), "typed\n", 6), 6);
  std::string in;
  pump(proxy, [&] {
    in += readSome(pod.slave.get(), 0);
    return in.find("typed") != std::string::npos;
  });
  EXPECT_NE(in.find("typed"), std::string::npos) << in;
  // Written by the pod: the caller's terminal shows it (raw: as it is).
  ASSERT_EQ(::write(pod.slave.get(), "shown", 5), 5);
  std::string out;
  pump(proxy, [&] {
    out += readSome(caller.master.get(), 0);
    return out.find("shown") != std::string::npos;
  });
  EXPECT_NE(out.find("shown"), std::string::npos) << out;
  // The pod side closes: the proxy lets go of the master.
  pod.slave.reset();
  pump(proxy, [&] { return proxy.master() < 0; });
  EXPECT_LT(proxy.master(), 0);
  proxy.finish();
}

TEST(Pty, ProxyCopiesPipes) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  int q[2];
  ASSERT_EQ(::pipe2(q, O_CLOEXEC), 0);
  UniqueFd w(p[1]), outRead(q[0]), outWrite(q[1]);
  Proxy proxy;
  proxy.addCopy(UniqueFd(p[0]), outWrite.get());
  ASSERT_EQ(::write(w.get(), "line\n", 5), 5);
  w.reset();
  std::string got;
  pump(proxy, [&] {
    got += readSome(outRead.get(), 0);
    return got == "line\n";
  });
  proxy.finish();
  EXPECT_EQ(got, "line\n");
}

TEST(Pty, CrlfForARawTerminal) {
  EXPECT_EQ(Proxy::crlf("a\nb\r\nc"), "a\r\nb\r\nc");
  EXPECT_EQ(Proxy::crlf(""), "");
}

}  // namespace
}  // namespace ferry::pty
