// The kvm stage1's run entrypoint: one QEMU virtual machine per pod.
//
//   run (this process, cwd = the pod directory)     child (its own mount namespace)
//   runtime.json, the flavor's features, the guest,
//   the accelerator, the VM's size; kvm/ (0700);
//   the channel's socket kvm/channel.sock listening
//   fork ───────────────────────────────────────────► PDEATHSIG SIGKILL; mounts private;
//                                                     the apps' rootfs (overlay or copy);
//                                                     the share: a read-only tmpfs at
//                                                     kvm/root holding the pod directory
//                                                     (read-only; status/, logs/, the
//                                                     rootfs and volumes writable; kvm/
//                                                     hidden), the bind sources, ferry-init
//                                                     and ferry-stage2 (read-only);
//                                                     virtiofsd on it (its child); exec QEMU
//   `pid` = QEMU; the guest's channel connection and its hello within the boot timeout;
//   frames: the pod init's stdout/stderr to ours, `ready`, the exit code; SIGTERM, SIGINT,
//   SIGHUP → kSignal frames (a guest that does not end within the stop timeout + a margin is
//   killed); --interactive: our stdin → kStdin frames (on a terminal: raw once the guest says
//   the app's pty is attached, its size as kWinsize then and on SIGWINCH); QEMU's end; what is
//   left of virtiofsd reaped (run is their subreaper); status fix-up, sockets removed, exit.
// Elsewhere: the share and virtiofsd (share.cpp), QEMU's command line, accelerator and
// privileges (vm.cpp), the channel's frames (channel.cpp), the taps (net.cpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/printable.hpp"
#include "common/pty.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/net.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/pod_userns.hpp"
#include "stage1/common/run_steps.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"
#include "stage1/common/systemd.hpp"
#include "stage1/kvm/channel.hpp"
#include "stage1/kvm/entrypoints.hpp"
#include "stage1/kvm/mds.hpp"
#include "stage1/kvm/net.hpp"
#include "stage1/kvm/share.hpp"
#include "stage1/kvm/vm.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using ferry::kvm::FrameType;
using Clock = std::chrono::steady_clock;

namespace {

// systemd's side (ABI §5 "systemd"): READY=1 to NOTIFY_SOCKET once `ready` exists (the guest's
// init relays it as a kReady frame); descriptors systemd passed cannot reach the guest's apps,
// so a socket-activated run is refused before anything exists.
void systemdSide(const fs::path& podDir) {
  if (listenFdCount() > 0) {
    throw Error(Errc::kUnsupported,
                "not supported: stage1 \"kvm\" cannot pass socket-activated descriptors "
                "(LISTEN_FDS) into its guest");
  }
  notifyReadyWhenPodIs(podDir);
}

// After a stop request the guest has the pod's stop timeout and this much more (TCG is slow
// under load) before it is killed.
constexpr int kStopSlackSeconds = 60;
// After the pod's exit code, QEMU has this long to power off.
constexpr int kPowerOffSeconds = 30;

int64_t envSeconds(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n <= 0) {
    throw Error(Errc::kInvalid, std::string("cannot read ") + name + ": not a positive number");
  }
  return n;
}

// A listening unix socket at `rel` (relative to the working directory: the pod directory).
UniqueFd listenAt(const std::string& rel, const fs::path& shown) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throwErrno("create a socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, rel.c_str(), sizeof addr.sun_path - 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    throwErrno("listen on " + quote(shown.string()));
  }
  return fd;
}

// An enter entrypoint connected to enter.sock: its frames go to the guest as session `id`.
struct EnterClient {
  UniqueFd conn;
  ferry::kvm::FrameReader reader;
};

class KvmRun {
 public:
  explicit KvmRun(const Args& args) : args_(args) {}

  ~KvmRun() {
    if (released_) return;
    if (qemu_ > 0) {
      ::kill(qemu_, SIGKILL);
      ::waitpid(qemu_, nullptr, 0);
    }
    reapAll(0);
    removeSockets();
  }

  void readPod() {
    podDir_ = currentPodDir();
    rt_ = RuntimeOptions::read(podDir_);
    debug_ = args_.debug || rt_.debug;
    rt_.checkUuid(args_.uuid);
    Descriptor own = ownDescriptor();
    refuseUnsupported(own, rt_);
    systemdSide(podDir_);
    keepLockFd(args_.lockFd);
    guest_ = kvm::Guest::find(own.dir);
    qemuPath_ = kvm::findQemu();
    virtiofsd_ = kvm::findVirtiofsd();
    init_ = rt_.init.empty() ? selfDir() / "ferry-init" : fs::path(rt_.init);
    if (::access(init_.c_str(), X_OK) != 0) {
      throwErrno("execute the pod init " + quote(init_.string()));
    }
    init_ = fs::canonical(init_);
    stage2_ = rt_.stage2.empty() ? init_.parent_path() / "ferry-stage2" : fs::path(rt_.stage2);
    stage2_ = fs::canonical(stage2_);
    sources_ = kvm::bindSources(podDir_, rt_.apps);
    guestEnter_ = own.dir / "bin" / kvm::kGuestEnter;
    bootTimeout_ = static_cast<int>(envSeconds("FERRY_KVM_BOOT_TIMEOUT", 300));
    // The pod's network namespace, made by stage0 (ABI §2 "netns"): never the host's.
    if (rt_.net == "netns") netns_ = openPodNetns(*rt_.netns);
    // --mds-register: the pod registered before its guest can ask (ABI §6; mds.hpp).
    if (rt_.mds) {
      mds_.start(podDir_, rt_);
      debugLine(debug_,
                "registered with the metadata service at " + quote(rt_.mds->socket.string()));
    }
  }

  // privateUsers (docs/private-users.md): the guest's pod init runs the pod in a user namespace
  // of the guest's kernel whose ids 0…count-1 are the range, and the share serves files with
  // their host owners (virtiofsd's and QEMU's user namespaces map every host id), so the pod's
  // root, guest uid START, reads and writes the pod directory as the ns flavor's does on the host
  // (sharePodDir); the app rootfs the child mounts are owned by the range (share.cpp).
  void planUserNamespace() {
    if (!rt_.privateUsers) return;
    if (rt_.privateUsers->uid != rt_.privateUsers->gid) {
      throw Error(Errc::kUnsupported,
                  "not supported: runtime.json privateUsers with different uid and gid starts");
    }
    sharePodDir(podDir_, rt_, rt_.privateUsers->uid, rt_.privateUsers->gid);
    debugLine(debug_, "user namespace: guest ids 0…" + std::to_string(rt_.privateUsers->count - 1) +
                          " of the pod are host ids " + std::to_string(rt_.privateUsers->uid) +
                          "…");
  }

  // The accelerator, the VM's size and QEMU's command line; kvm/ and the channel's socket.
  void planVm() {
    kvm::QemuPlan plan;
    auto accel = rt_.stage1Options.find("kvm-accel");
    plan.accel = kvm::chooseAccel(
        guest_, accel == rt_.stage1Options.end() ? std::nullopt : std::optional(accel->second),
        debug_);
    plan.size = kvm::vmSize(podDir_, rt_);
    plan.guest = guest_;
    plan.name = "ferry-" + rt_.uuid;
    plan.virtiofs = virtiofsd_.has_value();
    state_ = podDir_ / kvm::kStateDir;
    plan.shareRoot = state_ / kvm::kShareRoot;
    // --interactive: the caller's terminal, or its stdin as bytes (ABI §4 kvm).
    if (rt_.interactive) terminal_ = ::isatty(STDIN_FILENO) != 0;
    // The stage1's own ferry-init and ferry-stage2: the guest runs its initramfs's copies (the
    // same build, guest/build.sh) instead of reading them over the share.
    bool ownBinaries = rt_.init.empty() && rt_.stage2.empty();
    plan.append =
        std::string("console=ttyS0 panic=-1 rdinit=/init tsc=reliable no_timer_check") +
        " mitigations=off cgroup_no_v1=all " +
        (debug_ ? "loglevel=7 ferry.debug=1" : "loglevel=1 quiet") +
        " ferry.fs=" + (plan.virtiofs ? "virtiofs" : "9p") +
        " ferry.pod=" + kvm::hex(podDir_.string()) + " ferry.init=" + kvm::hex(init_.string()) +
        " ferry.enter=" + kvm::hex(guestEnter_.string()) + (ownBinaries ? " ferry.bin=1" : "") +
        (netns_ ? " ferry.net=1" : "") +
        (rt_.mds ? " ferry.mds=" + std::to_string(rt_.mds->port) : "") +
        (rt_.interactive ? terminal_ ? " ferry.interactive=tty" : " ferry.interactive=pipe" : "");
    plan_ = plan;
    debugLine(debug_, "VM: accel " + plan.accel + ", " + std::to_string(plan.size.memoryMiB) +
                          " MiB, " + std::to_string(plan.size.cpus) + " vCPUs, share " +
                          (plan.virtiofs ? "virtiofs" : "9p"));
    makePrivateDir(state_);
    removeSockets();
    std::error_code ec;
    fs::create_directories(state_ / kvm::kShareRoot, ec);
    if (ec) throwErrno(ec.value(), "create " + quote((state_ / kvm::kShareRoot).string()));
    writeFileAtomic(state_ / kvm::kRunPid, std::to_string(::getpid()) + "\n", 0600, Sync::kAtomic);
    std::string dir = std::string(kvm::kStateDir) + "/";
    listener_ = listenAt(dir + kvm::kChannelSocket, state_ / kvm::kChannelSocket);
    enterListener_ = listenAt(dir + kvm::kEnterSocket, state_ / kvm::kEnterSocket);
  }

  void blockSignals() {
    sigset_t set;
    ::sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
    if (terminal_) ::sigaddset(&set, SIGWINCH);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block signals");
    ::signal(SIGPIPE, SIG_IGN);
    sigFd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigFd_) throwErrno("create a signalfd");
    // virtiofsd is QEMU's child: when QEMU ends, it comes to us.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throwErrno("become a subreaper");
  }

  void startVm() {
    // report: the child's failure (EOF: QEMU was executed). 9p: the child says 'u' on unshared
    // once it is in a user namespace of its own, which we map (the child cannot), then say 'm'.
    int report[2], unshared[2], mapped[2];
    if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(unshared, O_CLOEXEC) != 0 ||
        ::pipe2(mapped, O_CLOEXEC) != 0) {
      throwErrno("create a pipe");
    }
    std::fflush(nullptr);
    qemu_ = ::fork();
    if (qemu_ < 0) throwErrno("fork");
    if (qemu_ == 0) {
      for (int fd : {report[0], unshared[0], mapped[1]}) ::close(fd);
      childMain(report[1], unshared[1], mapped[0]);
    }
    for (int fd : {report[1], unshared[1], mapped[0]}) ::close(fd);
    UniqueFd unsharedRead(unshared[0]), mappedWrite(mapped[1]);
    if (!virtiofsd_) {
      char said = 0;
      while (::read(unsharedRead.get(), &said, 1) < 0 && errno == EINTR) {
      }
      // No 'u': the child failed before (its report says why).
      if (said == 'u') {
        kvm::mapIdentity(qemu_);
        if (::write(mappedWrite.get(), "m", 1) != 1) throwErrno("tell QEMU its ids are mapped");
      }
    }
    mappedWrite.reset();
    std::string failure;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(report[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      failure.append(buf, static_cast<size_t>(n));
    }
    ::close(report[0]);
    if (!failure.empty()) throw Error(Errc::kIo, failure);
    writePidFile(podDir_, qemu_);
    started_ = Clock::now();
    debugLine(debug_, "QEMU started: pid " + std::to_string(qemu_));
  }

  // Until QEMU ended (and the guest's exit code, if it sent one, is known).
  void supervise() {
    ferry::kvm::FrameReader reader;
    deadline_ = started_ + std::chrono::seconds(bootTimeout_);
    deadlineWhat_ = "the guest did not boot within " + std::to_string(bootTimeout_) + " s";
    while (qemu_ > 0) {
      std::vector<pollfd> p = {{-1, POLLIN, 0},
                               {sigFd_.get(), POLLIN, 0},
                               {enterListener_.get(), POLLIN, 0},
                               {readsInput() ? STDIN_FILENO : -1, POLLIN, 0}};
      if (!channelDone_) p[0].fd = conn_ ? conn_.get() : listener_.get();
      std::vector<uint32_t> ids;
      for (auto& [id, c] : clients_) {
        p.push_back({c.conn.get(), POLLIN, 0});
        ids.push_back(id);
      }
      size_t mdsFirst = p.size();
      if (conn_ && !channelDone_) mds_.streams().poll(p);
      int timeout = -1;
      if (deadline_ != kNever) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
        timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
      }
      int n = ::poll(p.data(), p.size(), timeout);
      if (n < 0 && errno != EINTR) throwErrno("poll");
      if (n == 0 && deadline_ != kNever && Clock::now() >= deadline_) {
        std::fprintf(stderr, "ferry-stage1 run: %s: killed\n", deadlineWhat_.c_str());
        killed_ = true;
        bootFailed_ = !hello_;
        ::kill(qemu_, SIGKILL);
        deadline_ = kNever;
        continue;
      }
      if (!channelDone_ && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!conn_) {
          conn_ = UniqueFd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        } else {
          long got = reader.fill(conn_.get());
          if (got == 0 || (got < 0 && errno != EAGAIN)) channelDone_ = true;
          while (auto f = reader.next()) {
            handleFrame(*f);
          }
          if (reader.bad()) {
            std::fprintf(stderr, "ferry-stage1 run: the guest sent a malformed frame\n");
            channelDone_ = true;
          }
        }
      }
      if (p[2].revents & POLLIN) acceptEnter();
      if (p[3].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) readInput();
      for (size_t i = 0; i < ids.size(); ++i) {
        if (p[4 + i].revents & (POLLIN | POLLHUP | POLLERR)) readEnter(ids[i]);
      }
      if (conn_ && !channelDone_ && p.size() > mdsFirst)
        mds_.streams().handle(conn_.get(), p, mdsFirst);
      if (p[1].revents & POLLIN) drainSignals();
    }
  }

  int finish() {
    released_ = true;
    if (raw_) raw_->restore();
    int code;
    if (exitCode_) {
      code = *exitCode_;
    } else if (bootFailed_) {
      code = kOwnFailure;
    } else if (WIFSIGNALED(qemuStatus_)) {
      // Killed (stop --force, a hung guest): as on ns, a pod killed by SIGKILL reads 137.
      code = 128 + WTERMSIG(qemuStatus_);
      if (!killed_ && WTERMSIG(qemuStatus_) != SIGKILL) code = kOwnFailure;
    } else {
      code = kOwnFailure;
      if (failure_.empty()) {
        std::fprintf(stderr,
                     "ferry-stage1 run: the guest ended without the pod's exit status (QEMU "
                     "exited %d); its console: %s\n",
                     WIFEXITED(qemuStatus_) ? WEXITSTATUS(qemuStatus_) : -1,
                     quote((state_ / kvm::kConsole).string()).c_str());
        printTail(state_ / kvm::kConsole);
      }
    }
    mds_.stop();
    reapAll(2);
    finalizeStatus(podDir_, std::nullopt);
    removeSockets();
    writeExitFile(podDir_, code);
    debugLine(debug_, "pod ended: " + std::to_string(code));
    return code;
  }

 private:
  void handleFrame(const ferry::kvm::Frame& f) {
    switch (f.type) {
      case FrameType::kHello:
        hello_ = true;
        debugLine(debug_, "the guest's /init runs (guest uptime " + printable(f.data) + " s)");
        deadline_ = kNever;
        if (stopAsked_) sendSignal(SIGTERM);
        break;
      case FrameType::kStdout:
        writeOut(1, f.data);
        break;
      case FrameType::kStderr:
        writeOut(2, raw_ && raw_->active() ? pty::Proxy::crlf(f.data) : f.data);
        break;
      case FrameType::kTerminal:
        // The app's pty in the guest: the caller's terminal is the app's from now on (as on ns,
        // raw while attached; typed-ahead input stays to be read).
        if (terminal_ && !raw_) {
          raw_ = std::make_unique<pty::RawMode>(STDIN_FILENO);
          sendWindowSize();
        }
        break;
      case FrameType::kReady:
        writeFileAtomic(podDir_ / podfile::kReady, "", 0600, Sync::kAtomic);
        debugLine(debug_, "every app started");
        break;
      case FrameType::kExit: {
        char* end = nullptr;
        long code = std::strtol(f.data.c_str(), &end, 10);
        if (*end == '\0' && code >= 0 && code < 256) exitCode_ = static_cast<int>(code);
        deadline_ = Clock::now() + std::chrono::seconds(kPowerOffSeconds);
        deadlineWhat_ =
            "the guest did not power off within " + std::to_string(kPowerOffSeconds) + " s";
        debugLine(debug_, "the pod init exited: " + f.data);
        break;
      }
      case FrameType::kEnterStdout:
      case FrameType::kEnterStderr:
      case FrameType::kEnterExit:
        if (auto it = clients_.find(f.session); it != clients_.end()) {
          ferry::kvm::writeFrame(it->second.conn.get(), f.type, 0, f.data);
          if (f.type == FrameType::kEnterExit) clients_.erase(it);
        }
        break;
      case FrameType::kMdsOpen:
        debugLine(debug_, "metadata service connection " + std::to_string(f.session));
        mds_.open(conn_.get(), f.session);
        break;
      case FrameType::kMdsData:
      case FrameType::kMdsClose:
        mds_.streams().onFrame(conn_.get(), f);
        break;
      case FrameType::kFailure:
        failure_ = f.data;
        // The guest's words: printable(), as everything a guest wrote that run prints.
        std::fprintf(stderr, "ferry-stage1 run: the guest: %s\n", printable(f.data).c_str());
        break;
      default:
        break;
    }
  }

  void acceptEnter() {
    for (;;) {
      UniqueFd c(::accept4(enterListener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!c) return;
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
        continue;  // kvm/ is root's alone: nobody else gets here anyway
      }
      if (channelDone_ || !conn_) {
        ferry::kvm::writeFrame(c.get(), FrameType::kEnterStderr, 0,
                               "cannot enter the pod: its guest is not running\n");
        ferry::kvm::writeFrame(c.get(), FrameType::kEnterExit, 0, std::to_string(kOwnFailure));
        continue;
      }
      clients_[nextSession_++].conn = std::move(c);
    }
  }

  // A frame of an enter client goes to the guest under its session; its end ends the session's
  // input.
  void readEnter(uint32_t id) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    EnterClient& c = it->second;
    long got = c.reader.fill(c.conn.get());
    if (got < 0 && errno == EAGAIN) return;
    while (auto f = c.reader.next()) {
      if (f->type == FrameType::kEnterStart || f->type == FrameType::kEnterStdin ||
          f->type == FrameType::kEnterWinsize) {
        if (conn_ && !channelDone_) ferry::kvm::writeFrame(conn_.get(), f->type, id, f->data);
      }
    }
    if (got <= 0 || c.reader.bad()) {
      if (conn_ && !channelDone_) {
        ferry::kvm::writeFrame(conn_.get(), FrameType::kEnterStdin, id, "");
      }
      clients_.erase(it);
    }
  }

  // --interactive: our stdin goes to the guest, on a terminal only once the app's pty is there.
  bool readsInput() const {
    return rt_.interactive && inputOpen_ && hello_ && conn_ && !channelDone_ &&
           (!terminal_ || raw_);
  }

  void readInput() {
    char buf[16384];
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    std::string_view data = n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : "";
    if (n <= 0) inputOpen_ = false;  // the end of input (an empty frame)
    ferry::kvm::writeFrame(conn_.get(), FrameType::kStdin, 0, data);
  }

  void sendWindowSize() {
    winsize ws{};
    if (!raw_ || !conn_ || channelDone_ || ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0) return;
    ferry::kvm::writeFrame(conn_.get(), FrameType::kWinsize, 0,
                           std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
  }

  void sendSignal(int sig) {
    if (!conn_ || channelDone_) return;
    ferry::kvm::writeFrame(conn_.get(), FrameType::kSignal, 0, std::to_string(sig));
    if (sig == SIGTERM && !exitCode_) {
      int64_t grace = rt_.stopTimeoutSeconds + kStopSlackSeconds;
      deadline_ = Clock::now() + std::chrono::seconds(grace);
      deadlineWhat_ = "the guest did not stop within " + std::to_string(grace) + " s";
    }
  }

  void drainSignals() {
    signalfd_siginfo si;
    while (::read(sigFd_.get(), &si, sizeof si) == sizeof si) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        int status;
        pid_t got;
        while ((got = ::waitpid(-1, &status, WNOHANG)) > 0) {
          if (got == qemu_) {
            qemu_ = 0;
            qemuStatus_ = status;
            debugLine(debug_, "QEMU ended");
          }
        }
        continue;
      }
      if (sig == SIGWINCH) {
        sendWindowSize();
        continue;
      }
      debugLine(debug_, "forwarding signal " + std::to_string(sig) + " to the pod init");
      if (sig == SIGTERM) stopAsked_ = true;
      sendSignal(sig);
    }
  }

  void writeOut(int fd, const std::string& data) {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nobody reads our output: the pod's logs still have it
      p += n;
      left -= static_cast<size_t>(n);
    }
  }

  void printTail(const fs::path& file) {
    std::string text;
    try {
      text = readFile(file, 1 << 20);
    } catch (const std::exception&) {
      return;
    }
    size_t at = text.size();
    for (int lines = 0; at > 0 && lines < 20; ++lines) {
      at = text.rfind('\n', at - 1);
      if (at == std::string::npos) {
        at = 0;
        break;
      }
    }
    std::string tail = text.substr(at);
    tail.erase(std::remove(tail.begin(), tail.end(), '\r'), tail.end());  // the serial's CRLF
    std::fprintf(stderr, "%s\n", printable(tail, true, true).c_str());
  }

  // Every child left (virtiofsd after QEMU): waited for `seconds`, then killed.
  void reapAll(int seconds) {
    auto until = Clock::now() + std::chrono::seconds(seconds);
    for (;;) {
      int status;
      pid_t got = ::waitpid(-1, &status, WNOHANG);
      if (got < 0) return;  // no child left
      if (got > 0) continue;
      if (Clock::now() >= until) {
        for (const auto& e : fs::directory_iterator("/proc")) {
          pid_t pid = static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
          if (pid <= 0) continue;
          std::string stat;
          try {
            stat = readFile(e.path() / "stat", 4096);
          } catch (const std::exception&) {
            continue;
          }
          size_t close = stat.rfind(')');
          if (close == std::string::npos) continue;
          int ppid = 0;
          std::sscanf(stat.c_str() + close + 2, "%*c %d", &ppid);
          if (ppid == ::getpid()) ::kill(pid, SIGKILL);
        }
        while (::waitpid(-1, &status, 0) > 0) {
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void removeSockets() {
    if (state_.empty()) return;
    for (const char* s : {kvm::kChannelSocket, kvm::kFsSocket, kvm::kEnterSocket}) {
      ::unlink((state_ / s).c_str());
    }
  }

  // The child: the share in a mount namespace of its own, virtiofsd, then QEMU.
  [[noreturn]] void childMain(int report, int unshared, int mapped) noexcept {
    try {
      pid_t parent = ::getppid();
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throwErrno("set the parent-death signal");
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (::setsid() < 0) throwErrno("create a session");
      // QEMU (and virtiofsd) never in the host's network namespace: the pod's, with a tap
      // for each of its interfaces, or an empty one.
      kvm::NetConfig net;
      std::vector<UniqueFd> taps;
      if (netns_) {
        if (::setns(netns_.get(), CLONE_NEWNET) != 0) {
          throwErrno("join the pod's network namespace " + quote(*rt_.netns));
        }
        net = kvm::readNetns();
        taps = kvm::plugTaps(net);
      } else if (::unshare(CLONE_NEWNET) != 0) {
        throwErrno("create a network namespace");
      }
      if (::unshare(CLONE_NEWNS) != 0) throwErrno("create a mount namespace");
      kvm::mountOrThrow(nullptr, "/", nullptr, MS_REC | MS_PRIVATE);
      fs::path root = state_ / kvm::kShareRoot;
      kvm::ShareSpec share{podDir_, &rt_, sources_, init_, stage2_, guestEnter_, std::nullopt};
      if (netns_) share.netConfig = net.text();
      kvm::buildShare(share, root);
      ::umask(077);  // QEMU's console and logs: root's alone
      if (::chdir(state_.c_str()) != 0) throwErrno("enter " + quote(state_.string()));
      UniqueFd log(::open("qemu.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
      UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!log || !null) throwErrno("open QEMU's log");
      UniqueFd fsConn;
      if (virtiofsd_) {
        kvm::startVirtiofsd(*virtiofsd_, root);
        fsConn = connectAt(kvm::kFsSocket);
      }
      // What QEMU uses, opened here (not close-on-exec): with virtiofs it opens nothing itself.
      UniqueFd console(::open(kvm::kConsole, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600));
      UniqueFd kernel(::open(plan_.guest.kernel.c_str(), O_RDONLY));
      UniqueFd initrd(::open(plan_.guest.initrd.c_str(), O_RDONLY));
      if (!console || !kernel || !initrd) throwErrno("open the guest's console, kernel or initrd");
      UniqueFd channel = connectAt(kvm::kChannelSocket);
      kvm::QemuPlan plan = plan_;
      plan.consoleFd = console.get();
      plan.kernelFd = kernel.get();
      plan.initrdFd = initrd.get();
      plan.channelFd = channel.get();
      plan.fsFd = fsConn ? fsConn.get() : -1;
      std::vector<std::string> args = kvm::qemuArgv(qemuPath_, plan);
      for (size_t i = 0; i < taps.size(); ++i) {
        std::string id = "net" + std::to_string(i);
        args.insert(
            args.end(),
            {"-netdev", "tap,id=" + id + ",fd=" + std::to_string(taps[i].get()) + ",vhost=off",
             "-device", "virtio-net-pci,romfile=,netdev=" + id + ",mac=" + net.links[i].mac});
      }
      std::vector<char*> argv;
      for (auto& s : args) argv.push_back(s.data());
      argv.push_back(nullptr);
      if (::dup2(null.get(), 0) < 0 || ::dup2(log.get(), 1) < 0 || ::dup2(log.get(), 2) < 0) {
        throwErrno("set up QEMU's stdio");
      }
      // virtiofs: virtiofsd serves the share, QEMU needs no privilege; 9p: QEMU serves it itself,
      // with what it needs of root's in a user namespace of its own.
      if (virtiofsd_) {
        kvm::dropQemuPrivileges(plan.accel, parent);
      } else {
        kvm::enterQemuUserns(unshared, mapped, parent);
      }
      const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
      ::execve(argv[0], argv.data(), const_cast<char* const*>(envp));
      throwErrno("execute " + quote(argv[0]));
    } catch (const std::exception& e) {
      std::string m = e.what();
      [[maybe_unused]] ssize_t n = ::write(report, m.data(), m.size());
    }
    ::_exit(kOwnFailure);
  }

  // A connection to the unix socket `rel` (not close-on-exec: QEMU's).
  static UniqueFd connectAt(const char* rel) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    if (!fd) throwErrno("create a socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, rel, sizeof addr.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throwErrno("connect to " + quote(rel));
    }
    return fd;
  }

  const Args& args_;
  fs::path podDir_, state_;
  RuntimeOptions rt_;
  bool debug_ = false;
  kvm::Guest guest_;
  fs::path qemuPath_, init_, stage2_, guestEnter_;
  std::optional<fs::path> virtiofsd_;
  std::map<fs::path, bool> sources_;
  kvm::QemuPlan plan_;
  int bootTimeout_ = 300;
  UniqueFd listener_, conn_, sigFd_, enterListener_, netns_;
  std::map<uint32_t, EnterClient> clients_;
  kvm::MdsRelay mds_;
  uint32_t nextSession_ = 1;
  pid_t qemu_ = 0;
  int qemuStatus_ = 0;
  static constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point started_, deadline_ = kNever;
  std::string deadlineWhat_;
  std::optional<int> exitCode_;
  std::string failure_;
  bool hello_ = false, bootFailed_ = false;
  bool terminal_ = false, inputOpen_ = true;
  std::unique_ptr<pty::RawMode> raw_;
  bool channelDone_ = false, stopAsked_ = false, killed_ = false, released_ = false;
};

}  // namespace

int kvmRunEntrypoint(const Args& args) {
  debugLine(false, "");  // starts the clock
  KvmRun run(args);
  run.readPod();
  run.planUserNamespace();
  run.planVm();
  run.blockSignals();
  run.startVm();
  run.supervise();
  return run.finish();
}

}  // namespace ferry::stage1
