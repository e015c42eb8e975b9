// The kvm stage1's guest /init (stage1/ABI.md §4 "kvm"): PID 1 of the pod's virtual machine,
// a static program in the initramfs beside the kernel modules it loads. No shell, no udev.
//   1. /dev, /proc, /sys; the modules in /modules, in the order of their names (finit_module);
//   2. the channel port (virtio-serial, named kChannelName): a kHello frame;
//   3. the share of the host (virtiofs, or 9p with ferry.fs=9p) at /root: a read-only tree
//      holding the pod directory at its host path (its status/, logs/, app rootfs and volumes
//      writable), the apps' bind sources, ferry-init and ferry-stage2;
//   3b. with ferry.bin=1, the initramfs's ferry-init and ferry-stage2 bound read-only over the
//      share's (ownBinaries; the initramfs is remounted read-only first thing);
//   4. the pod directory of the guest: a tmpfs at its path holding the share's runtime.json,
//      pod, apps/, status/, logs/, etc/ and volumes/ (bound), and the guest's own cgroups.json
//      and pid (what the host's pod directory holds for the host is never the guest's to
//      write: stage1-ref, lock, pid, exit, cgroups.json);
//   5. cgroup2 with the pod cgroup, its device rules and limits, init/ and app-<name>/ (as the
//      ns stage1 makes them), the hostname, lo up; the root moved onto /; with ferry.net=1 the
//      virtio-net modules and the pod's networks (the share's ferry-net.conf, net.hpp);
//   6. ferry-init in new PID and mount namespaces (a fresh /proc), its stdout and stderr
//      relayed to the host as frames; kSignal frames are signals for it; `ready` relayed;
//      --interactive (ferry.interactive=pipe): kStdin frames are its stdin; on a terminal
//      (ferry.interactive=tty) its fds 0, 1, 2 are a console socket instead, over which the app's
//      stage2 sends its pty's master (ABI §5 "Terminals"): kTerminal, then kStdin and kWinsize
//      frames go to the master and what it reads comes back as kStdout;
//   7. when it ends: kExit with its status, sync, power off.
// Anything that fails before the pod init runs is one kFailure line, then power off.
// The steps' parts are in the files guest.hpp lists.
#include <fcntl.h>
#include <linux/reboot.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/mds_client.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/net.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/guest/guest.hpp"
#include "stage1/kvm/net.hpp"
#include "stage1/kvm/vm.hpp"

namespace ferry::kvm::guest {

int channel = -1;
int kmsg = -1;

void mark(const char* what) {
  if (kmsg < 0) return;
  std::string l = std::string("ferry-kvm-init: ") + what + "\n";
  [[maybe_unused]] ssize_t n = ::write(kmsg, l.data(), l.size());
}

void say(const std::string& line) {
  std::string l = "ferry-kvm-init: " + line + "\n";
  [[maybe_unused]] ssize_t n = ::write(2, l.data(), l.size());
}

[[noreturn]] void powerOff() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

[[noreturn]] void fail(const std::string& line) {
  say(line);
  if (channel >= 0) kvm::writeFrame(channel, FrameType::kFailure, 0, line);
  powerOff();
}

int statusCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// ferry.KEY=VALUE words of the kernel command line.
std::map<std::string, std::string> kernelParams() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/cmdline");
  std::string word;
  while (in >> word) {
    if (word.rfind("ferry.", 0) != 0) continue;
    size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    out[word.substr(6, eq - 6)] = word.substr(eq + 1);
  }
  return out;
}

// bench/kvm's baseline (ferry.bare=HEX of argv, NUL-separated): the share mounted as the root,
// the program run in it with no pod around it (no pod directory, cgroups, pod init or stage2),
// its status as kExit.
[[noreturn]] void bareRun(const std::string& command) {
  try {
    mountOrThrow("ferry", "/root", "virtiofs", MS_NOSUID | MS_NODEV);
    mountOrThrow("proc", "/root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (::chdir("/root") != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 ||
        ::chroot(".") != 0 || ::chdir("/") != 0) {
      throwErrno("change root");
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      std::vector<const char*> argv;
      for (size_t at = 0; at < command.size(); at += std::strlen(command.c_str() + at) + 1) {
        argv.push_back(command.c_str() + at);
      }
      argv.push_back(nullptr);
      const char* envp[] = {"PATH=/bin:/usr/bin", nullptr};
      ::execve(argv[0], const_cast<char* const*>(argv.data()), const_cast<char* const*>(envp));
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    kvm::writeFrame(channel, FrameType::kExit, 0, std::to_string(statusCode(status)));
  } catch (const std::exception& e) {
    fail(e.what());
  }
  powerOff();
}

int guestMain() {
  ::mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  ::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  // The initramfs read-only for good: the share is mounted over it, but it stays the bottom of
  // the guest's mount tree, and its ferry-init and ferry-stage2 start every app (ownBinaries).
  // No app reaches it (stage2's pivot_root: a chroot escape ends at the app's root); without
  // CAP_SYS_ADMIN in the guest nothing can make it writable again.
  int readOnlyErrno =
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0 ? 0 : errno;
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  auto params = kernelParams();
  if (params["debug"] == "1") kmsg = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  mark("/init runs");
  try {
    loadModules("/modules");
    mark("modules loaded");
    channel = openChannel();
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::string uptime;
  {
    std::ifstream in("/proc/uptime");
    in >> uptime;
  }
  kvm::writeFrame(channel, FrameType::kHello, 0, uptime);
  if (params.count("probe")) powerOff();
  if (params.count("bare")) bareRun(unhex(params["bare"]));
  try {
    fs::path pod = unhex(params["pod"]);
    fs::path init = unhex(params["init"]);
    PodContext context;
    context.dir = pod;
    context.guestEnter = unhex(params["enter"]);
    if (!pod.is_absolute() || !init.is_absolute()) {
      throw Error(Errc::kInvalid, "the kernel command line names no pod directory or init");
    }
    fs::path root = "/root";
    if (params["net"] == "1") loadModules("/modules-net");  // virtio-net, from the initramfs
    if (params["fs"] == "9p") {
      mountOrThrow("ferry", root, "9p", MS_NOSUID | MS_NODEV,
                   "trans=virtio,version=9p2000.L,msize=512000,cache=mmap");
    } else {
      mountOrThrow("ferry", root, "virtiofs", MS_NOSUID | MS_NODEV);
    }
    mark("share mounted");
    makePodDir(root, pod);
    // An initramfs built without them (guest/build.sh given no pod init): the share's.
    if (params["bin"] == "1" && ::access((fs::path(kOwnBin) / "ferry-init").c_str(), X_OK) == 0) {
      if (readOnlyErrno != 0) throwErrno(readOnlyErrno, "make the initramfs read-only");
      ownBinaries(root, init);
    }
    mountOrThrow("proc", root / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mountOrThrow("sysfs", root / "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mountOrThrow("cgroup2", root / "sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "nsdelegate");
    mountOrThrow("devtmpfs", root / "dev", "devtmpfs", MS_NOSUID, "mode=0755");
    if (::chdir(root.c_str()) != 0) throwErrno("enter the new root");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throwErrno("move the root onto /");
    if (::chroot(".") != 0 || ::chdir("/") != 0) throwErrno("change root");
    {
      std::ofstream c("/sys/fs/cgroup/cgroup.subtree_control");
      c << "+cpu +memory +pids";
    }
    stage1::RuntimeOptions rt = stage1::RuntimeOptions::read(pod);
    context.uuid = rt.uuid;
    if (!rt.hostname.empty() && ::sethostname(rt.hostname.data(), rt.hostname.size()) != 0) {
      throwErrno("set the hostname");
    }
    stage1::loopbackUp();
    bool ownPodNet = rt.privateUsers && params["net"] != "1";
    uint16_t mdsPort = 0;
    if (!params["mds"].empty()) {
      char* end = nullptr;
      unsigned long port = std::strtoul(params["mds"].c_str(), &end, 10);
      if (*end != '\0' || port == 0 || port > 65535) {
        throw Error(Errc::kInvalid, "the kernel command line's ferry.mds is not a port");
      }
      mdsPort = static_cast<uint16_t>(port);
      // A pod in a network namespace of its own (privateUsers): made there (startPodInit).
      if (!ownPodNet) {
        context.mdsListener = mds::listenInPod(mdsPort).release();
        ::fcntl(context.mdsListener, F_SETFL, O_NONBLOCK);
      }
    }
    if (params["net"] == "1") {
      // The pod's networks: what the host read in the pod's network namespace (net.hpp).
      std::string conf = readFile(fs::path("/") / stage1::kvm::kNetConfig, 1 << 20);
      stage1::kvm::applyNetConfig(stage1::kvm::NetConfig::parse(conf));
    }
    mark("root moved, network up");
    Cgroups cg = makeCgroups(pod, rt);
    if (rt.privateUsers) sharePodDirInGuest(pod, *rt.privateUsers);
    mark("cgroups made");
    Console console;
    Child child = startPodInit(pod, init, cg, params["interactive"], console,
                               PodNamespaces{rt.privateUsers, params["net"] == "1", mdsPort});
    if (child.mdsListener >= 0) {
      context.mdsListener = child.mdsListener;
      ::fcntl(context.mdsListener, F_SETFL, O_NONBLOCK);
    }
    stage1::writePidFile(pod, child.pid);
    mark("pod init started");
    int code = relay(context, child, console);
    mark("pod init ended");
    kvm::writeFrame(channel, FrameType::kExit, 0, std::to_string(code));
  } catch (const std::exception& e) {
    fail(e.what());
  }
  powerOff();
}

}  // namespace

}  // namespace ferry::kvm::guest

int main() {
  if (::getpid() != 1) {
    std::fprintf(stderr, "ferry-kvm-init: runs as the guest's PID 1 only\n");
    return 2;
  }
  ferry::kvm::guest::guestMain();
}
