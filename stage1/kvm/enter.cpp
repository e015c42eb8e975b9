// The kvm stage1's enter entrypoint: a command in a running app of the pod's guest. It connects
// to the run process's kvm/enter.sock and speaks the channel's frames there (session 0): one
// kEnterStart {"app", "argv"}, its stdin as kEnterStdin (an empty one at its end); the guest's
// /init runs the flavor's guest-enter (the ns stage1's enter, in the guest: the app's namespaces,
// cgroup, user, environment, seccomp) on pipes, and run relays its stdout, stderr and exit
// status back. No terminal: stdin, stdout and stderr are copied as bytes.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
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
  if (!ferry::kvm::writeFrame(sock.get(), FrameType::kEnterStart, 0, json::dump(request))) {
    throwErrno("send the enter request");
  }
  ferry::kvm::FrameReader reader;
  bool inputOpen = true;
  for (;;) {
    pollfd p[2] = {{sock.get(), POLLIN, 0}, {inputOpen ? 0 : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throwErrno("poll");
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
