// The pod's stdio as the run entrypoint sets it up (stage1/ABI.md §5 "interactive"). The pod
// never gets the caller's terminal, and it is a session of its own without a controlling
// terminal (so /dev/tty in the pod opens nothing of the caller's):
//   not interactive          the init keeps run's stdout/stderr (it copies the apps' pipes
//                            there); only the new session
//   interactive, stdin a tty the init's fds 0, 1, 2 are a unix socket (the console socket):
//                            stage2 allocates a pty in the app's own /dev/pts and sends its
//                            master over it (common/pty.hpp); run proxies the caller's terminal
//                            (raw) to it; whatever else comes over the socket (the init's and
//                            stage2's messages) goes to run's stderr
//   interactive, no tty      stdin as it is; a stdout or stderr that is a terminal becomes a
//                            pipe that run copies to it
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "common/fs.hpp"
#include "common/pty.hpp"

namespace ferry::stage1 {

class Console {
 public:
  explicit Console(bool interactive);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // The signals waitForPod needs besides run's own (SIGWINCH), to block before the clone.
  void addSignals(sigset_t* set) const;
  // In the child, before the exec of the init: the fds above, then setsid(). 0 or an errno.
  int applyInChild() const noexcept;
  // In the parent after the clone: the child's ends go.
  void afterClone();
  // Whether the parent must wait with waitForPod (it has bytes to copy).
  bool proxies() const { return interactive_; }
  // Waits for the pod init, forwarding every signal but SIGCHLD and SIGWINCH to it, copying
  // bytes; the caller's terminal is raw while a pty is attached and restored before this
  // returns. The init's exit code (128 + signal when killed).
  int waitForPod(pid_t pid, int sigFd, const std::function<void(const std::string&)>& debug);
  // The same, for a pod whose init is not `pid` (nspawn's: `pid` is systemd-nspawn): each
  // forwarded signal goes to `forward`. `pid`'s exit code.
  int waitForPod(pid_t pid, int sigFd, const std::function<void(const std::string&)>& debug,
                 const std::function<void(int)>& forward);

 private:
  void onConsoleSocket();

  bool interactive_ = false;
  bool terminal_ = false;
  UniqueFd socketParent_, socketChild_;
  pty::Proxy proxy_;
  pty::PipePlan pipes_;
  std::unique_ptr<pty::RawMode> raw_;
};

}  // namespace ferry::stage1
