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
#include <fcntl.h>
#include <linux/reboot.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "common/cgroup_devices.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/mds_client.hpp"
#include "common/pty.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/net.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/net.hpp"
#include "stage1/kvm/stream.hpp"
#include "stage1/kvm/vm.hpp"

namespace fs = std::filesystem;
using namespace ferry;
using ferry::kvm::FrameType;

namespace {

int channel = -1;
// In the initramfs (guest/build.sh): the stage1's ferry-init and ferry-stage2, stripped.
constexpr const char* kOwnBin = "/ferry";

// ferry.debug=1 (run's --debug): /dev/kmsg, where mark() stamps the phases of the guest's start
// with the kernel's clock (they show in kvm/console beside the kernel's own lines).
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

void mountOrThrow(const char* src, const fs::path& dst, const char* type, unsigned long flags,
                  const char* data = nullptr) {
  std::error_code ec;
  fs::create_directories(dst, ec);
  if (::mount(src, dst.c_str(), type, flags, data) != 0) {
    throwErrno(std::string("mount ") + (type ? type : src) + " on " + quote(dst.string()));
  }
}

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

void loadModules(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throwErrno("open " + quote(f.string()));
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) {
      throwErrno("load module " + quote(f.string()));
    }
  }
}

// The virtio-serial port named kChannelName (devtmpfs makes /dev/vportNpM once the driver
// found it: waits up to 20 s).
int openChannel() {
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/virtio-ports", ec)) {
      std::ifstream in(e.path() / "name");
      std::string name;
      std::getline(in, name);
      if (name != kvm::kChannelName) continue;
      fs::path dev = fs::path("/dev") / e.path().filename();
      int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (fd >= 0) return fd;
    }
    ::usleep(10000);
  }
  throw Error(Errc::kNotFound, "cannot find the channel port " + std::string(kvm::kChannelName));
}

// The guest's pod directory: a tmpfs at `pod` holding the share's entries the pod init and
// stage2 read or write, bound from the share (mounted under /root).
void makePodDir(const fs::path& root, const fs::path& pod) {
  fs::path src = "/podsrc";
  mountOrThrow((root / pod.relative_path()).c_str(), src, nullptr, MS_BIND | MS_REC);
  fs::path dst = root / pod.relative_path();
  mountOrThrow("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700");
  for (const char* name : {"runtime.json", "pod", "apps", "status", "logs", "etc", "volumes"}) {
    struct stat st;
    if (::lstat((src / name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      fs::create_directory(dst / name);
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd f(::open((dst / name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    } else {
      continue;
    }
    mountOrThrow((src / name).c_str(), dst / name, nullptr, MS_BIND | MS_REC);
  }
  ::umount2(src.c_str(), MNT_DETACH);
}

// ferry.bin=1 (the pod init and stage2 are the stage1's own): the initramfs's copies of
// ferry-init and ferry-stage2 (kOwnBin, read-only) bound over the share's at their host paths,
// so that the pod init finds ferry-stage2 beside itself as it would: what starts each app is
// read from the guest's memory, not page by page over virtiofs or 9p.
void ownBinaries(const fs::path& root, const fs::path& init) {
  const fs::path own = kOwnBin;
  for (const auto& [from, to] :
       {std::pair{own / "ferry-init", init},
        std::pair{own / "ferry-stage2", init.parent_path() / "ferry-stage2"}}) {
    fs::path dst = root / to.relative_path();
    if (::mount(from.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
        ::mount(nullptr, dst.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID,
                nullptr) != 0) {
      throwErrno("bind " + quote(from.string()) + " over " + quote(dst.string()));
    }
  }
}

struct Cgroups {
  cgroup::Group pod, init;
  std::vector<std::string> joinFiles;
};

// The ns stage1's cgroups, in the guest's cgroup2: the pod cgroup with its device rules and
// limits, init/ and app-<name>/ with theirs; cgroups.json in the guest's pod directory.
Cgroups makeCgroups(const fs::path& podDir, const stage1::RuntimeOptions& rt) {
  std::vector<stage1::AppCgroupConfig> appConfigs;
  for (const auto& app : rt.apps) appConfigs.push_back(stage1::appCgroupConfig(podDir, app.name));
  stage1::ResourcesConfig podResources = stage1::podResourcesOf(podDir, rt);
  cgroup::DevicePolicy devices = stage1::podDevicePolicy(podResources, appConfigs);
  cgroup::Layout layout = cgroup::Layout::detect();
  Cgroups c;
  c.pod = cgroup::Group::place(layout, stage1::podCgroupName(rt.uuid));
  stage1::writeCgroupsJson(podDir, c.pod);
  c.pod.make();
  cgroup::applyDevicePolicy(c.pod, devices);
  c.pod.apply(podResources.limits);
  c.init = c.pod.limitable().createChild(cgroup::kInitCgroupName);
  std::vector<cgroup::Group> apps;
  for (const auto& app : rt.apps) {
    apps.push_back(c.pod.limitable().createChild(cgroup::appCgroupName(app.name)));
  }
  c.pod.delegate();
  for (size_t i = 0; i < apps.size(); ++i) apps[i].apply(appConfigs[i].limits);
  c.joinFiles = c.init.procsFiles();
  return c;
}

struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
};

// The pod's input and terminal with --interactive (ferry.interactive=tty|pipe).
struct Console {
  bool terminal = false;
  int socket = -1;      // tty: our end of the console socket (the init's fds 0, 1, 2)
  int master = -1;      // tty: the app's pty, once its stage2 sent it
  int input = -1;       // pipe: the init's stdin
  std::string pending;  // kStdin bytes not yet taken
  bool inputEnded = false, eofSent = false;
};

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// What the host sent for the pod's input, as far as its reader takes it now (non-blocking); the
// end of input is the pty's end-of-file character, or the pipe closed.
void flushInput(Console& c) {
  int fd = c.terminal ? c.master : c.input;
  if (fd < 0) return;
  if (c.terminal && c.inputEnded && !c.eofSent) {
    termios t{};
    c.pending.push_back(
        ::tcgetattr(fd, &t) == 0 && t.c_cc[VEOF] != 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04');
    c.eofSent = true;
  }
  while (!c.pending.empty()) {
    ssize_t n = ::write(fd, c.pending.data(), c.pending.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {  // nobody reads the pod's input any more
      c.pending.clear();
      c.inputEnded = c.eofSent = true;
      break;
    }
    c.pending.erase(0, static_cast<size_t>(n));
  }
  if (!c.terminal && c.inputEnded && c.pending.empty()) closeFd(c.input);
}

// ferry-init in new PID, mount and cgroup namespaces, in the init cgroup, in the pod directory,
// with an empty environment. The cgroup namespace is rooted at the guest's root (the guest is the
// pod): it is not the initial one, so each app's stage2 roots one of its own at the app's cgroup
// and mounts that read-only at /sys/fs/cgroup, as on the other flavors.
Child startPodInit(const fs::path& podDir, const fs::path& init, const Cgroups& cg,
                   const std::string& interactive, Console& console) {
  int out[2], err[2], report[2], in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
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
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone,
                                           CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP | SIGCHLD,
                                           nullptr, nullptr, nullptr, 0));
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
    if (cgroup::joinProcs(files.data(), files.size(), &failed) != 0) die("join the init cgroup");
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
  return Child{pid, out[0], err[0]};
}

int statusCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// An enter session (kEnterStart … kEnterExit): the flavor's guest-enter (the ns stage1's enter
// entrypoint) in the pod directory, its stdio on pipes relayed as frames.
struct Session {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  std::optional<int> code;
  bool tty = false;  // in and out: a pty's master (its slave guest-enter's terminal)
};

// The guest's own devpts (for enter sessions on a terminal), mounted at the first one.
void guestDevpts() {
  static bool mounted = false;
  if (mounted) return;
  ::mkdir("/dev/pts", 0755);
  mountOrThrow("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0600,mode=0600");
  mounted = true;
}

std::string uuid;
fs::path guestEnter;
// ferry.mds=PORT: the apps' metadata service address 127.0.0.1:PORT, listened on here and each
// connection relayed to the host (kMdsOpen; mds.hpp).
int mdsListener = -1;

void startSession(std::map<uint32_t, Session>& sessions, uint32_t id, const std::string& request,
                  const fs::path& podDir) {
  std::vector<std::string> args = {"enter", "--uuid", uuid};
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
    ::execve(guestEnter.c_str(), argv.data(), const_cast<char* const*>(envp));
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

// Relays until the pod init ended and its output was read; returns its exit code.
// The console socket: the app's pty master (kTerminal), and the init's and stage2's messages.
void readConsoleSocket(Console& c) {
  char buf[4096];
  UniqueFd fd;
  ssize_t n = pty::receive(c.socket, buf, sizeof buf, &fd);
  if (n <= 0) {
    closeFd(c.socket);  // every process of the pod closed it
    return;
  }
  std::string_view text(buf, static_cast<size_t>(n));
  unsigned int ptyNumber = 0;
  if (fd && c.master < 0 && ::ioctl(fd.get(), TIOCGPTN, &ptyNumber) == 0) {
    // Its one byte is no text: a read ends with the message that carries descriptors.
    c.master = fd.release();
    ::fcntl(c.master, F_SETFL, O_NONBLOCK);
    text.remove_suffix(1);
    kvm::writeFrame(channel, FrameType::kTerminal, 0, "");
    flushInput(c);
  }
  if (!text.empty()) kvm::writeFrame(channel, FrameType::kStderr, 0, text);
}

void readMaster(Console& c) {
  char buf[16384];
  ssize_t n = ::read(c.master, buf, sizeof buf);
  if (n > 0) {
    kvm::writeFrame(channel, FrameType::kStdout, 0, std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    closeFd(c.master);  // EIO: every slave is closed, the app has ended
  }
}

int relay(const fs::path& podDir, Child child, Console& console) {
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
      if (::stat((podDir / "ready").c_str(), &st) == 0) {
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
    p.push_back({channelOpen ? mdsListener : -1, POLLIN, 0});
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
      int c = ::accept4(mdsListener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
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
          startSession(sessions, f->session, f->data, podDir);
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
    guestEnter = unhex(params["enter"]);
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
    uuid = rt.uuid;
    if (!rt.hostname.empty() && ::sethostname(rt.hostname.data(), rt.hostname.size()) != 0) {
      throwErrno("set the hostname");
    }
    stage1::loopbackUp();
    if (!params["mds"].empty()) {
      char* end = nullptr;
      unsigned long port = std::strtoul(params["mds"].c_str(), &end, 10);
      if (*end != '\0' || port == 0 || port > 65535) {
        throw Error(Errc::kInvalid, "the kernel command line's ferry.mds is not a port");
      }
      mdsListener = mds::listenInPod(static_cast<uint16_t>(port)).release();
      ::fcntl(mdsListener, F_SETFL, O_NONBLOCK);
    }
    if (params["net"] == "1") {
      // The pod's networks: what the host read in the pod's network namespace (net.hpp).
      std::string conf = readFile(fs::path("/") / stage1::kvm::kNetConfig, 1 << 20);
      stage1::kvm::applyNetConfig(stage1::kvm::NetConfig::parse(conf));
    }
    mark("root moved, network up");
    Cgroups cg = makeCgroups(pod, rt);
    mark("cgroups made");
    Console console;
    Child child = startPodInit(pod, init, cg, params["interactive"], console);
    stage1::writePidFile(pod, child.pid);
    mark("pod init started");
    int code = relay(pod, child, console);
    mark("pod init ended");
    kvm::writeFrame(channel, FrameType::kExit, 0, std::to_string(code));
  } catch (const std::exception& e) {
    fail(e.what());
  }
  powerOff();
}

}  // namespace

int main() {
  if (::getpid() != 1) {
    std::fprintf(stderr, "ferry-kvm-init: runs as the guest's PID 1 only\n");
    return 2;
  }
  guestMain();
}
