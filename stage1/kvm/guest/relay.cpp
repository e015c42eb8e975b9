// The guest /init's relay loop, from the pod init's start to its end: its output and `ready` to
// the host as frames, the host's signals, input and window sizes to the pod, enter sessions and
// metadata-service connections both ways, and the pod init's exit status reaped.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/guest/guest.hpp"
#include "stage1/kvm/stream.hpp"

namespace ferry::kvm::guest {

int relay(const PodContext& pod, Child child, Console& console) {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGCHLD);
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) throwErrno("create a signalfd");
  kvm::FrameReader reader;
  std::map<uint32_t, Session> sessions;
  kvm::Streams mdsStreams(FrameType::kMdsData, FrameType::kMdsClose);
  uint32_t nextMds = 1;
  bool ready = false, ended = false, channelOpen = true;
  int code = stage1::kOwnFailure;
  auto forward = [&](int& fd, FrameType type, uint32_t session) {
    char buf[16384];
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      kvm::writeFrame(channel, type, session, std::string_view(buf, static_cast<size_t>(got)));
    } else if (got == 0 || errno != EINTR) {
      ::close(fd);
      fd = -1;
    }
  };
  for (;;) {
    if (!ready) {
      struct stat st;
      if (::stat((pod.dir / "ready").c_str(), &st) == 0) {
        ready = true;
        mark("ready");
        kvm::writeFrame(channel, FrameType::kReady, 0, "");
      }
    }
    // An enter session whose command ended with the pod (guest-enter still reporting its
    // status) gets it through: its status, not kOwnFailure (bounded by the idle wait below).
    bool entering = std::any_of(sessions.begin(), sessions.end(),
                                [](const auto& e) { return !e.second.code.has_value(); });
    if (ended && child.out < 0 && child.err < 0 && console.socket < 0 && console.master < 0 &&
        !entering) {
      break;
    }
    bool pending = !console.pending.empty();
    std::vector<pollfd> p = {
        {child.out, POLLIN, 0},
        {child.err, POLLIN, 0},
        {channelOpen ? channel : -1, POLLIN, 0},
        {sfd, POLLIN, 0},
        {console.socket, POLLIN, 0},
        {console.master, static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0},
        {pending ? console.input : -1, POLLOUT, 0}};
    p.push_back({channelOpen ? pod.mdsListener : -1, POLLIN, 0});
    constexpr size_t kSessions = 8;
    std::vector<std::pair<uint32_t, int>> which;  // session, 0 out / 1 err
    for (auto& [id, sess] : sessions) {
      p.push_back({sess.out, POLLIN, 0});
      which.emplace_back(id, 0);
      p.push_back({sess.err, POLLIN, 0});
      which.emplace_back(id, 1);
    }
    size_t mdsFirst = p.size();
    if (channelOpen) mdsStreams.poll(p);
    int n = ::poll(p.data(), p.size(), ready ? (ended ? 2000 : -1) : 50);
    if (n < 0 && errno != EINTR) throwErrno("poll");
    if (n == 0 && ended) break;  // the pipes' last writers outlive the init: not waited for
    if (channelOpen && p.size() > mdsFirst) mdsStreams.handle(channel, p, mdsFirst);
    if (p[7].revents & POLLIN) {
      int c = ::accept4(pod.mdsListener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) {
        uint32_t id = nextMds++;
        mdsStreams.add(id, c);
        kvm::writeFrame(channel, FrameType::kMdsOpen, id, "");
      }
    }
    constexpr short kIn = POLLIN | POLLHUP | POLLERR;
    if (child.out >= 0 && (p[0].revents & kIn)) forward(child.out, FrameType::kStdout, 0);
    if (child.err >= 0 && (p[1].revents & kIn)) forward(child.err, FrameType::kStderr, 0);
    if (console.socket >= 0 && (p[4].revents & kIn)) readConsoleSocket(console);
    if (console.master >= 0 && (p[5].revents & kIn)) readMaster(console);
    if ((p[5].revents | p[6].revents) & (POLLOUT | POLLERR)) flushInput(console);
    for (size_t i = 0; i < which.size(); ++i) {
      if (!(p[kSessions + i].revents & kIn)) continue;
      auto it = sessions.find(which[i].first);
      if (it == sessions.end()) continue;
      int& fd = which[i].second == 0 ? it->second.out : it->second.err;
      if (fd >= 0) {
        forward(fd, which[i].second == 0 ? FrameType::kEnterStdout : FrameType::kEnterStderr,
                it->first);
      }
    }
    if (channelOpen && (p[2].revents & kIn)) {
      long got = reader.fill(channel);
      if (got == 0) channelOpen = false;
      while (auto f = reader.next()) {
        if (f->type == FrameType::kSignal && !ended) {
          int sig = std::atoi(f->data.c_str());
          if (sig > 0 && sig < 65) ::kill(child.pid, sig);
        } else if (f->type == FrameType::kStdin && f->session == 0) {
          if (console.inputEnded) continue;
          if (f->data.empty()) console.inputEnded = true;
          console.pending += f->data;
          flushInput(console);
        } else if (f->type == FrameType::kWinsize && f->session == 0 && console.master >= 0) {
          winsize ws{};
          if (std::sscanf(f->data.c_str(), "%hu %hu", &ws.ws_row, &ws.ws_col) == 2) {
            ::ioctl(console.master, TIOCSWINSZ, &ws);
          }
        } else if (f->type == FrameType::kMdsData || f->type == FrameType::kMdsClose) {
          mdsStreams.onFrame(channel, *f);
        } else if (f->type == FrameType::kEnterStart && f->session != 0 &&
                   !sessions.count(f->session)) {
          startSession(sessions, f->session, f->data, pod);
        } else if (f->type == FrameType::kEnterWinsize) {
          auto it = sessions.find(f->session);
          winsize ws{};
          if (it != sessions.end() && it->second.tty && it->second.in >= 0 &&
              std::sscanf(f->data.c_str(), "%hu %hu", &ws.ws_row, &ws.ws_col) == 2) {
            ::ioctl(it->second.in, TIOCSWINSZ, &ws);
          }
        } else if (f->type == FrameType::kEnterStdin) {
          auto it = sessions.find(f->session);
          if (it == sessions.end() || it->second.in < 0) continue;
          if (f->data.empty() && it->second.tty) continue;  // a terminal's input has no end
          if (f->data.empty()) {
            ::close(it->second.in);
            it->second.in = -1;
          } else if (::write(it->second.in, f->data.data(), f->data.size()) < 0) {
            ::close(it->second.in);
            it->second.in = -1;
          }
        }
      }
      if (reader.bad()) channelOpen = false;
    }
    if (p[3].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si) {
      }
      int status;
      pid_t got;
      while ((got = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (got == child.pid) {
          code = statusCode(status);
          ended = true;
          mark("pod init exited");
        }
        for (auto& [id, sess] : sessions) {
          if (sess.pid == got) sess.code = statusCode(status);
        }
      }
    }
    endSessions(sessions, false);
  }
  for (auto& [id, sess] : sessions) {
    if (!sess.code) sess.code = stage1::kOwnFailure;
  }
  endSessions(sessions, true);
  return code;
}

}  // namespace ferry::kvm::guest
