// The terminal side of the enter entrypoint (the rules are console.hpp's): the command never
// gets the caller's terminal. With a terminal on stdin it gets a pty of the app's own /dev/pts
// (allocated here, in the app's mount namespace) as its controlling terminal and fds 0, 1, 2,
// and this process copies bytes between the two with the caller's terminal raw; without one it
// keeps the caller's pipes and files, a stdout or stderr that is a terminal becomes a pipe. The
// command is a session of its own either way, and gets the signals this process gets.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "common/fs.hpp"
#include "common/pty.hpp"

namespace ferry::stage1 {

class EnterTerminal {
 public:
  // Before the fork, in the app's namespaces: the pty or the pipes; the signals waitFor handles
  // are blocked from here on.
  EnterTerminal();
  ~EnterTerminal();
  EnterTerminal(const EnterTerminal&) = delete;
  EnterTerminal& operator=(const EnterTerminal&) = delete;

  // In the child after the fork: its session, fds 0 1 2 and signal mask.
  void inChild();
  // In the parent: copies until the command exits; its exit status (128 + signal when killed).
  int waitFor(pid_t child);

 private:
  bool terminal_ = false;
  pty::Pair pair_;
  pty::Proxy proxy_;
  pty::PipePlan pipes_;
  sigset_t old_{};
  UniqueFd sigFd_;
};

}  // namespace ferry::stage1
