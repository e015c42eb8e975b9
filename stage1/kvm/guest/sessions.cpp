// Enter sessions in the guest (kEnterStart … kEnterExit): each request starts the flavor's
// guest-enter (the ns stage1's enter entrypoint) in the pod directory, on pipes or on a pty of the
// guest's own devpts; the relay forwards their output and ends them (endSessions).
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/json.hpp"
#include "common/pty.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/guest/guest.hpp"

namespace ferry::kvm::guest {

namespace {

// The guest's own devpts (for enter sessions on a terminal), mounted at the first one.
void guestDevpts() {
  static bool mounted = false;
  if (mounted) return;
  ::mkdir("/dev/pts", 0755);
  mountOrThrow("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0600,mode=0600");
  mounted = true;
}

}  // namespace

void startSession(std::map<uint32_t, Session>& sessions, uint32_t id, const std::string& request,
                  const PodContext& pod) {
  const fs::path& podDir = pod.dir;
  std::vector<std::string> args = {"enter", "--uuid", pod.uuid};
  bool tty = false;
  std::string term;
  winsize ws{};
  pty::Pair pair;
  try {
    json::Json r = json::parse(request, "the enter request");
    args.insert(args.end(), {"--app", r.at("app").get<std::string>(), "--"});
    for (const auto& a : r.at("argv")) args.push_back(a.get<std::string>());
    tty = r.value("tty", false);
    if (tty) {
      term = r.value("term", "");
      ws.ws_row = r.value("rows", static_cast<uint16_t>(0));
      ws.ws_col = r.value("cols", static_cast<uint16_t>(0));
      guestDevpts();
      pair = pty::openPair("/dev/pts/ptmx");
      if (ws.ws_row > 0 && ws.ws_col > 0) ::ioctl(pair.master.get(), TIOCSWINSZ, &ws);
    }
  } catch (const std::exception& e) {
    kvm::writeFrame(channel, FrameType::kEnterStderr, id,
                    std::string("ferry-kvm-init: ") + e.what() + "\n");
    kvm::writeFrame(channel, FrameType::kEnterExit, id, std::to_string(stage1::kOwnFailure));
    return;
  }
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (!tty && (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
               ::pipe2(err, O_CLOEXEC) != 0)) {
    kvm::writeFrame(channel, FrameType::kEnterExit, id, std::to_string(stage1::kOwnFailure));
    return;
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // guest-enter's TERM (on a terminal): the caller's, which the ns enter gives a command whose
  // app has none.
  std::string termVar = "TERM=" + term;
  const char* envp[] = {term.empty() ? nullptr : termVar.c_str(), nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (tty) {
      if (::chdir(podDir.c_str()) != 0 || pty::becomeControllingTerminal(pair.slave.get()) != 0) {
        ::_exit(stage1::kOwnFailure);
      }
    } else {
      ::setsid();
      if (::chdir(podDir.c_str()) != 0 || ::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 ||
          ::dup2(err[1], 2) < 0) {
        ::_exit(stage1::kOwnFailure);
      }
    }
    ::execve(pod.guestEnter.c_str(), argv.data(), const_cast<char* const*>(envp));
    ::_exit(stage1::kOwnFailure);
  }
  if (tty) {
    pair.slave.reset();
    if (pid < 0) {
      kvm::writeFrame(channel, FrameType::kEnterExit, id, std::to_string(stage1::kOwnFailure));
      return;
    }
    int master = pair.master.release();
    sessions[id] =
        Session{pid, ::fcntl(master, F_DUPFD_CLOEXEC, 0), master, -1, std::nullopt, true};
    return;
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    kvm::writeFrame(channel, FrameType::kEnterExit, id, std::to_string(stage1::kOwnFailure));
    return;
  }
  sessions[id] = Session{pid, in[1], out[0], err[0], std::nullopt, false};
}

// A session whose process ended and whose output was read (or is not waited for: what its
// children still write is dropped) ends with kEnterExit.
void endSessions(std::map<uint32_t, Session>& sessions, bool force) {
  for (auto it = sessions.begin(); it != sessions.end();) {
    Session& s = it->second;
    if (!s.code || (!force && (s.out >= 0 || s.err >= 0))) {
      ++it;
      continue;
    }
    for (int fd : {s.in, s.out, s.err}) {
      if (fd >= 0) ::close(fd);
    }
    kvm::writeFrame(channel, FrameType::kEnterExit, it->first, std::to_string(*s.code));
    it = sessions.erase(it);
  }
}

}  // namespace ferry::kvm::guest
