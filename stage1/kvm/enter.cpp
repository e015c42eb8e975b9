// The kvm stage1's enter entrypoint: a command in a running app of the pod's guest. It connects
// to the run process's kvm/enter.sock and speaks the channel's frames there (session 0): one
// kEnterStart {"app", "argv"}, its stdin as kEnterStdin (an empty one at its end); the guest's
// /init runs the flavor's guest-enter (the ns stage1's enter, in the guest: the app's namespaces,
// cgroup, user, environment, seccomp) on pipes, and run relays its stdout, stderr and exit
// status back. Without a terminal stdin, stdout and stderr are copied as bytes; with one on stdin
// (enter -it) the request says "tty" with the terminal's size and TERM, the guest's /init gives
// guest-enter a pty (which the ns enter relays to one of the app's own), the caller's terminal
// is raw meanwhile and SIGWINCH sends its size as kEnterWinsize.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/pty.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/entrypoints.hpp"
#include "stage1/kvm/vm.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using ferry::kvm::FrameType;

int kvmEnterEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = RuntimeOptions::read(podDir);
  rt.checkUuid(args.uuid);
  if (!rt.hasApp(args.app)) {
    throw Error(Errc::kNotFound, "cannot enter app " + quote(args.app) + ": no such app");
  }
  if (args.command.empty()) throw Error(Errc::kUsage, "enter: no command");
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throwErrno("create a socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string rel = std::string(kvm::kStateDir) + "/" + kvm::kEnterSocket;
  std::strncpy(addr.sun_path, rel.c_str(), sizeof addr.sun_path - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throwErrno("enter the pod: connect to its run process at " + quote((podDir / rel).string()) +
               " (is it running?)");
  }
  json::Json request = {{"app", args.app}, {"argv", args.command}};
  bool tty = ::isatty(STDIN_FILENO) != 0;
  UniqueFd winch;
  if (tty) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
      request["rows"] = ws.ws_row;
      request["cols"] = ws.ws_col;
    }
    const char* term = std::getenv("TERM");
    request["tty"] = true;
    request["term"] = term != nullptr ? term : "";
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGWINCH);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block SIGWINCH");
    winch = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!winch) throwErrno("create a signalfd");
  }
  if (!ferry::kvm::writeFrame(sock.get(), FrameType::kEnterStart, 0, json::dump(request))) {
    throwErrno("send the enter request");
  }
  ferry::kvm::FrameReader reader;
  bool inputOpen = true;
  std::optional<pty::RawMode> raw;
  if (tty) raw.emplace(STDIN_FILENO);
  for (;;) {
    pollfd p[3] = {
        {sock.get(), POLLIN, 0}, {inputOpen ? 0 : -1, POLLIN, 0}, {winch.get(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throwErrno("poll");
    }
    if (p[2].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(winch.get(), &si, sizeof si) == sizeof si) {
      }
      winsize ws{};
      if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
        ferry::kvm::writeFrame(sock.get(), FrameType::kEnterWinsize, 0,
                               std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::string_view data = n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : "";
      if (n <= 0) inputOpen = false;
      if (!ferry::kvm::writeFrame(sock.get(), FrameType::kEnterStdin, 0, data)) {
        inputOpen = false;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      long got = reader.fill(sock.get());
      while (auto f = reader.next()) {
        if (f->type == FrameType::kEnterStdout || f->type == FrameType::kEnterStderr) {
          writeAll(f->type == FrameType::kEnterStdout ? 1 : 2, f->data.data(), f->data.size(),
                   "the command's output");
        } else if (f->type == FrameType::kEnterExit) {
          int code = std::atoi(f->data.c_str());
          return code >= 0 && code < 256 ? code : kOwnFailure;
        }
      }
      if (got == 0 || (got < 0 && errno != EINTR) || reader.bad()) {
        throw Error(Errc::kIo, "cannot enter the pod: its run process ended the session");
      }
    }
  }
}

}  // namespace ferry::stage1
