// The pod init's start in the guest: ferry-init cloned into its namespaces and the init cgroup,
// with its stdio on pipes (or the console socket on a terminal), and its failure to start read
// back over a pipe.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/mds_client.hpp"
#include "common/userns.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/net.hpp"
#include "stage1/kvm/guest/guest.hpp"

namespace ferry::kvm::guest {

// ferry-init in new PID, mount and cgroup namespaces, in the init cgroup, in the pod directory,
// with an empty environment (with privateUsers in a user namespace too, and new IPC and UTS
// namespaces it owns: it waits until this process wrote its maps and moved it into the init
// cgroup, whose cgroup.procs is the namespace root's, then becomes that root, guest uid START,
// before anything else). The cgroup namespace is rooted at the guest's root (the guest is the
// pod): it is not the initial one, so each app's stage2 roots one of its own at the app's cgroup
// and mounts that read-only at /sys/fs/cgroup, as on the other flavors.
Child startPodInit(const fs::path& podDir, const fs::path& init, const Cgroups& cg,
                   const std::string& interactive, Console& console, const PodNamespaces& ns) {
  const std::optional<stage1::PrivateUsers>& users = ns.users;
  bool ownNet = users && !ns.guestNet;
  int out[2], err[2], report[2], in[2] = {-1, -1}, mapped[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(mapped, O_CLOEXEC) != 0) {
    throwErrno("create a pipe");
  }
  if (interactive == "tty") {
    console.terminal = true;
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
      throwErrno("create the console socket");
    }
  } else if (interactive == "pipe" && ::pipe2(in, O_CLOEXEC) != 0) {
    throwErrno("create a pipe");
  }
  std::vector<const char*> files;
  for (const auto& f : cg.joinFiles) files.push_back(f.c_str());
  std::fflush(nullptr);
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP;
  if (users) flags |= CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWUTS;
  if (ownNet) flags |= CLONE_NEWNET;
  pid_t pid =
      static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (pid < 0) throwErrno("clone the pod init");
  if (pid == 0) {
    auto die = [&](const char* what) {
      int e = errno;
      char msg[256];
      int n = std::snprintf(msg, sizeof msg, "cannot %s: %s", what, std::strerror(e));
      [[maybe_unused]] ssize_t w = ::write(report[1], msg, static_cast<size_t>(n));
      ::_exit(stage1::kOwnFailure);
    };
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    size_t failed = 0;
    if (!users && cgroup::joinProcs(files.data(), files.size(), &failed) != 0) {
      die("join the init cgroup");
    }
    if (users) {
      ::close(mapped[1]);
      char go = 0;
      if (::read(mapped[0], &go, 1) != 1 || go != 'u') ::_exit(stage1::kOwnFailure);
      if (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresuid(0, 0, 0) != 0) {
        die("become the root of the pod's user namespace");
      }
      if (ownNet) {
        try {
          stage1::loopbackUp();
        } catch (const std::exception&) {
          die("bring the pod's loopback up");
        }
      }
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / private");
    ::umount2("/proc", MNT_DETACH);
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      die("mount /proc");
    }
    if (::chdir(podDir.c_str()) != 0) die("enter the pod directory");
    if (::setsid() < 0) die("create a session");
    // Not interactive: no input. A pipe: its read end. A terminal: the console socket on 0, 1, 2.
    int stdinFd = console.terminal ? in[1] : in[0] >= 0 ? in[0] : ::open("/dev/null", O_RDONLY);
    int outFd = console.terminal ? in[1] : out[1], errFd = console.terminal ? in[1] : err[1];
    if (stdinFd < 0 || ::dup2(stdinFd, 0) < 0 || ::dup2(outFd, 1) < 0 || ::dup2(errFd, 2) < 0) {
      die("set up stdio");
    }
    const char* argv[] = {"ferry-init", nullptr};
    const char* envp[] = {nullptr};
    ::execve(init.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    die("execute the pod init");
  }
  ::close(out[1]);
  ::close(err[1]);
  ::close(report[1]);
  ::close(mapped[0]);
  int mdsListener = -1;
  if (users) {
    // The maps, written by this process (the guest's root) without "setgroups deny": stage2
    // still sets supplementary groups. EOF instead of 'u' ends the child.
    try {
      userns::mapIds(pid, idmap::IdRange::make(users->uid, users->count));
      cg.init.join(pid);
      if (ownNet && ns.mdsPort != 0) {
        UniqueFd netns = openFile("/proc/" + std::to_string(pid) + "/ns/net", O_RDONLY);
        mdsListener = mds::listenInNetns(netns.get(), ns.mdsPort).release();
      }
    } catch (const std::exception&) {
      ::close(mapped[1]);
      ::close(report[0]);
      throw;
    }
    if (::write(mapped[1], "u", 1) != 1) throwErrno("tell the pod init its ids are mapped");
  }
  ::close(mapped[1]);
  if (console.terminal) {
    ::close(in[1]);
    ::close(out[0]);  // the init's output is the console socket's
    ::close(err[0]);
    out[0] = err[0] = -1;
    console.socket = in[0];
  } else if (in[0] >= 0) {
    ::close(in[0]);
    console.input = in[1];
    ::fcntl(console.input, F_SETFL, O_NONBLOCK);
  }
  std::string failure;
  char buf[256];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) failure.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  if (!failure.empty()) throw Error(Errc::kIo, failure);
  return Child{pid, out[0], err[0], mdsListener};
}

}  // namespace ferry::kvm::guest
