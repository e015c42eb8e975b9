// The nspawn stage1's run entrypoint.
//
//   run (this process, outside the pod)            child                     systemd-nspawn
//   runtime.json, the stage1's own features
//   cgroups.json; the pod cgroup, its device
//   rules and limits, init + app cgroups
//   (delegated: no process ever sits in the pod
//   cgroup where the init and apps have theirs)
//   the container's root directory: nspawn/root
//   fork ─────────────────────────────────────────► PDEATHSIG SIGTERM; stdio
//                                                   and session (console.hpp);
//                                                   joins pod/init (pod where
//                                                   no children); own mount
//                                                   namespace, private; app
//                                                   rootfs mounts; exec ──────► payload/ and
//   waits for the pod's PID 1 (the process of the                               supervisor/
//   init cgroup whose innermost pid is 1): pid                                  below pod/init;
//   waits for systemd-nspawn, forwarding SIGTERM,                               PID 1 = ferry-init
//   SIGINT and SIGHUP to the pod init
//   status fix-up, cgroups removed (nspawn's below init), nspawn's
//   leftovers in /run removed, exit
// The root holds, at their host paths: the pod directory (recursively, with the rootfs
// mounts), each bind source of the apps' config.json mounts, every cgroup hierarchy read-only
// with the pod's limitable cgroups writable on top, and the extra device nodes the apps'
// linux.devices name; ferry-init and ferry-stage2 read-only in /usr/libexec/ferry; nspawn adds
// /proc, /sys (read-only), /dev with the default nodes, /run and /tmp. The root directory itself
// is read-only.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "common/cgroup.hpp"
#include "common/cgroup_devices.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/mds_client.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/net.hpp"
#include "stage1/common/pod_cgroups.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/common/run_steps.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/seccomp_cache.hpp"
#include "stage1/common/status.hpp"
#include "stage1/common/systemd.hpp"
#include "stage1/ns/console.hpp"
#include "stage1/ns/private_root.hpp"
#include "stage1/nspawn/entrypoints.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

constexpr const char* kNspawnState = "/run/systemd/nspawn";
// Where the container's root holds ferry-init and ferry-stage2.
constexpr const char* kPayloadDir = "/usr/libexec/ferry";

// systemd-nspawn remounts the container's /sys/fs/cgroup read-only with MS_REMOUNT alone (no
// MS_BIND) when it finds a mount there, as it does with the host's tree bound in (its own tmpfs
// otherwise): that changes the superblock, and a bind of the host's tmpfs shares the host's,
// which then turned read-only in every namespace (crun could no longer create its cgroups).
// Where /sys/fs/cgroup is a tmpfs, this mount namespace gets one of its own holding the same
// mounts (each entry's tree cloned) and symlinks: nspawn's remount stays in it. A cgroup2 root
// nspawn leaves as it is.
void privateCgroupRoot() {
  constexpr const char* kRoot = "/sys/fs/cgroup";
  struct statfs sfs;
  if (::statfs(kRoot, &sfs) != 0) throwErrno("stat " + quote(kRoot));
  if (sfs.f_type != TMPFS_MAGIC) return;
  UniqueFd tree(::open_tree(AT_FDCWD, kRoot, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) throwErrno("clone the mount tree of " + quote(kRoot));
  UniqueFd dir(::openat(tree.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throwErrno("open " + quote(kRoot));
  if (::mount("tmpfs", kRoot, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0) {
    throwErrno("mount a tmpfs at " + quote(kRoot));
  }
  DIR* d = ::fdopendir(dir.release());
  if (d == nullptr) throwErrno("read " + quote(kRoot));
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string target = std::string(kRoot) + "/" + name;
    struct stat st;
    if (::fstatat(tree.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      throwErrno("stat " + quote(target));
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(tree.get(), name.c_str(), buf, sizeof buf - 1);
      if (n < 0) throwErrno("read the link " + quote(target));
      buf[n] = 0;
      if (::symlink(buf, target.c_str()) != 0) throwErrno("create the link " + quote(target));
    } else if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(
          ::open_tree(tree.get(), name.c_str(),
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW));
      if (!sub) throwErrno("clone the mount tree of " + quote(target));
      if (::mkdir(target.c_str(), 0755) != 0) throwErrno("create " + quote(target));
      if (::move_mount(sub.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        throwErrno("attach a mount at " + quote(target));
      }
    }
  }
}

fs::path findNspawn() {
  for (const char* p : {"/usr/bin/systemd-nspawn", "/bin/systemd-nspawn"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  throw Error(Errc::kUnsupported,
              "not supported: the nspawn stage1 needs systemd-nspawn (Debian: systemd-container)");
}

// nspawn's --bind takes SRC[:DST[:OPTIONS]]: a path holding ':' cannot be said.
std::string bindPath(const fs::path& p) {
  if (p.string().find(':') != std::string::npos) {
    throw Error(
        Errc::kUnsupported,
        "not supported: the nspawn stage1 cannot bind a path holding ':': " + quote(p.string()));
  }
  return p.string();
}

// A mount point for `at` inside the root: its parents as directories, itself a directory or an
// empty file like the source.
void makeMountPoint(const fs::path& root, const fs::path& at, bool dir) {
  fs::path target = root / at.relative_path();
  std::error_code ec;
  fs::create_directories(dir ? target : target.parent_path(), ec);
  if (ec) throwErrno(ec.value(), "create " + quote(target.string()));
  if (!dir) {
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throwErrno("create " + quote(target.string()));
  }
}

bool isDirectory(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The host pid of the pod's PID 1: a process of `group` whose innermost pid is 1 (NSpid).
std::optional<pid_t> findPodInit(const cgroup::Group& group) {
  for (pid_t pid : group.pids()) {
    std::string status;
    try {
      status = readFile("/proc/" + std::to_string(pid) + "/status", 1 << 16);
    } catch (const std::exception&) {
      continue;
    }
    size_t at = status.find("\nNSpid:");
    if (at == std::string::npos) continue;
    size_t end = status.find('\n', at + 1);
    std::istringstream fields(status.substr(at + 7, end - at - 7));
    std::vector<long> ids;
    long v;
    while (fields >> v) ids.push_back(v);
    if (ids.size() >= 2 && ids.back() == 1) return static_cast<pid_t>(ids.front());
  }
  return std::nullopt;
}

class NspawnRun {
 public:
  explicit NspawnRun(const Args& args) : args_(args) {}

  ~NspawnRun() {
    if (released_) return;
    // A failure before the pod ran: systemd-nspawn gets SIGTERM (never SIGKILL: its container
    // would survive it) and is waited for; then the cgroups go.
    if (child_ > 0) {
      ::kill(child_, SIGTERM);
      int status;
      while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    try {
      if (made_) pod_.remove();
      removeNspawnLeftovers(rt_.uuid);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ferry-stage1 run: %s\n", e.what());
    }
  }

  // runtime.json, --uuid, the lock, and what this stage1's descriptor says it can do.
  void readPod() {
    podDir_ = currentPodDir();
    rt_ = RuntimeOptions::read(podDir_);
    debug_ = args_.debug || rt_.debug;
    rt_.checkUuid(args_.uuid);
    Descriptor own = ownDescriptor();
    refuseUnsupported(own, rt_, podDir_);
    nspawn_ = findNspawn();
    keepLockFd(args_.lockFd);
    init_ = rt_.init.empty() ? selfDir() / "ferry-init" : fs::path(rt_.init);
    if (::access(init_.c_str(), X_OK) != 0)
      throwErrno("execute the pod init " + quote(init_.string()));
    init_ = fs::canonical(init_);
    stage2_ = rt_.stage2.empty() ? init_.parent_path() / "ferry-stage2" : fs::path(rt_.stage2);
    // The pod's network namespace, made by stage0 (ABI §2 "netns"): never the host's.
    if (rt_.net == "netns") netns_ = openPodNetns(*rt_.netns);
  }

  // The same cgroups as the ns stage1 (every limit and device rule read, and refused if
  // unsupported, before anything is created; cgroups.json first), delegated at once: the init
  // and systemd-nspawn go straight into pod/init.
  void makeCgroups() {
    cgroups_ = PodCgroups::plan(podDir_, rt_);
    made_ = true;
    cgroups_.make();
    cgroups_.delegate();
    // Where the child goes: pod/init where the init has its cgroup, the pod cgroup elsewhere.
    cgroup::Group limitable = pod_.limitable();
    for (const cgroup::Member& m : pod_.members()) {
      bool hasInit = false;
      for (const cgroup::Member& l : limitable.members()) hasInit = hasInit || l.dir == m.dir;
      cgroup::Group one({m});
      for (const auto& f : (hasInit ? one.child(cgroup::kInitCgroupName) : one).procsFiles()) {
        joinFiles_.push_back(f);
      }
    }
    debugLine(debug_, "cgroups created in " + std::to_string(pod_.members().size()) +
                          " hierarchies, device rules in place");
  }

  // nspawn/root in the pod directory, and systemd-nspawn's command line.
  // Each app's compiled seccomp filter linked into its bundle (ns's provideSeccomp).
  void provideSeccomp() {
    for (const std::string& line : provideSeccompFilters(podDir_, rt_)) debugLine(debug_, line);
  }

  void planContainer() {
    PrivateRootPlan plan = planPrivateRoot(podDir_, rt_.apps);
    root_ = podDir_ / "nspawn" / "root";
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec) throwErrno(ec.value(), "create " + quote(root_.string()));
    ::chmod((podDir_ / "nspawn").c_str(), 0700);
    // What systemd-nspawn mounts itself, and /usr, by which it recognises an OS tree.
    for (const char* d :
         {"usr", "proc", "sys", "sys/fs/cgroup", "dev", "run", "tmp", "etc", "var", "root"}) {
      makeMountPoint(root_, fs::path("/") / d, true);
    }
    // --register=no: stage0 registers the pod with machined under the systemd cgroup driver
    // (its init as leader); a second registration of the same name fails systemd-nspawn.
    std::vector<std::string> a = {nspawn_.string(),
                                  "--quiet",
                                  "--register=no",
                                  "--keep-unit",
                                  "--directory=" + root_.string(),
                                  "--read-only",
                                  "--machine=" + nspawnMachineName(rt_.uuid),
                                  "--timezone=off",
                                  "--resolv-conf=off",
                                  "--link-journal=no",
                                  "--capability=all",
                                  "--kill-signal=SIGTERM",
                                  "--console=pipe",
                                  "--chdir=" + bindPath(podDir_)};
    if (!rt_.hostname.empty()) a.push_back("--hostname=" + rt_.hostname);
    // Socket activation (stage1/common/systemd.hpp): systemd-nspawn hands the descriptors it is
    // passed to its payload, with LISTEN_FDS and LISTEN_PID=1 but not their names.
    listenFds_ = listenFdCount();
    if (listenFds_ > 0) {
      if (const char* names = ::getenv("LISTEN_FDNAMES")) {
        a.push_back(std::string("--setenv=LISTEN_FDNAMES=") + names);
      }
    }
    // The network namespace is the child's: stage0's (runtime.json "netns") or its own
    // (loopback up); the metadata service's listener is in it before the pod starts. nspawn
    // joins it.
    if (rt_.net != "host") a.push_back("--network-namespace-path=/proc/self/ns/net");
    auto bind = [&](const fs::path& p, bool readOnly) {
      bool dir = isDirectory(p);
      makeMountPoint(root_, p, dir);
      a.push_back((readOnly ? "--bind-ro=" : "--bind=") + bindPath(p));
    };
    bind(podDir_, false);
    // ferry-init and ferry-stage2 at a neutral path: nspawn execs its payload by name with the
    // PATH below, so `ps` in the pod shows "ferry-init" and no host path (as on ns); the init
    // finds ferry-stage2 beside itself. A ferry-stage2 runtime.json names is also at its path.
    auto bindAt = [&](const fs::path& p, const fs::path& at) {
      makeMountPoint(root_, at, false);
      a.push_back("--bind-ro=" + bindPath(p) + ":" + at.string());
    };
    bindAt(init_, fs::path(kPayloadDir) / "ferry-init");
    bindAt(stage2_, fs::path(kPayloadDir) / "ferry-stage2");
    if (!rt_.stage2.empty()) bind(stage2_, true);
    a.push_back(std::string("--setenv=PATH=") + kPayloadDir);
    if (rt_.logDriver == "journal") journalArgs(a);
    for (const fs::path& src : plan.sources) {
      if (src == podDir_ || src.string().starts_with(podDir_.string() + "/")) continue;
      bind(src, false);
    }
    // Every hierarchy read-only (the cgroup mount tree as the host has it), the pod's cgroups
    // where the init moves its children writable.
    a.push_back("--bind-ro=/sys/fs/cgroup");
    cgroup::Group limitable = pod_.limitable();
    for (const cgroup::Member& m : limitable.members()) {
      a.push_back("--bind=" + bindPath(m.dir));
    }
    // Device nodes the apps name beyond nspawn's own /dev (stage2 binds them when mknod is
    // refused).
    for (const fs::path& d : plan.devices) {
      static const char* kOwn[] = {"/dev/null",    "/dev/zero", "/dev/full",    "/dev/random",
                                   "/dev/urandom", "/dev/tty",  "/dev/console", "/dev/ptmx"};
      bool own = false;
      for (const char* o : kOwn) own = own || d == o;
      std::error_code e2;
      if (!own && fs::exists(d, e2)) a.push_back("--bind=" + bindPath(d));
    }
    a.push_back("--");
    a.push_back("ferry-init");
    argv_ = std::move(a);
    if (debug_) {
      std::string line;
      for (const auto& s : argv_) line += (line.empty() ? "" : " ") + s;
      debugLine(true, "container: " + line);
    }
  }

  // --log-driver=journal (stage1/ABI.md §5 "systemd"). systemd-nspawn closes every descriptor
  // but socket activation's before its payload, so the init connects the journal's sockets
  // itself: each is bound at /run/ferry-journal/<n> in the container, named in order by
  // FERRY_JOURNAL_SOCKETS. The pod's own journal files are bound read-only at
  // /var/log/journal/<pod machine ID>, where `journalctl -M` reads them (as on ns).
  void journalArgs(std::vector<std::string>& a) {
    std::string paths;
    size_t n = 0;
    for (const fs::path& socket : journalSocketsForInit(rt_.uuid)) {
      std::string at = "/run/ferry-journal/" + std::to_string(n++);
      a.push_back("--bind-ro=" + bindPath(socket) + ":" + at);
      paths += (paths.empty() ? "" : ",") + at;
    }
    a.push_back("--setenv=FERRY_JOURNAL_SOCKETS=" + paths);
    if (std::string unit = ownUnit(); !unit.empty()) {
      a.push_back("--setenv=FERRY_JOURNAL_UNIT=" + unit);
    }
    if (auto files = journalNamespaceFiles(podJournalNamespace(rt_.uuid));
        files && isDirectory(*files)) {
      fs::path at = fs::path("/var/log/journal") / podMachineId(rt_.uuid);
      makeMountPoint(root_, at, true);
      a.push_back("--bind-ro=" + bindPath(*files) + ":" + at.string());
    }
  }

  // The pod's stdio (console.hpp: interactive as on ns), and the signals run waits for.
  void blockSignals() {
    console_.emplace(rt_.interactive);
    sigset_t set;
    ::sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
    console_->addSignals(&set);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block signals");
    ::signal(SIGPIPE, SIG_IGN);
    sigFd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigFd_) throwErrno("create a signalfd");
  }

  // The child: cgroups, a mount namespace with the apps' rootfs, systemd-nspawn.
  void startContainer() {
    std::vector<const char*> files;
    for (const auto& f : joinFiles_) files.push_back(f.c_str());
    std::vector<char*> argv;
    for (auto& s : argv_) argv.push_back(s.data());
    argv.push_back(nullptr);
    int report[2], ctl[2];
    if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(ctl, O_CLOEXEC) != 0) {
      throwErrno("create a pipe");
    }
    std::fflush(nullptr);
    child_ = ::fork();
    if (child_ < 0) throwErrno("fork");
    if (child_ == 0) {
      ::close(report[0]);
      ::close(ctl[1]);
      childMain(files, argv, report[1], ctl[0]);
    }
    ::close(report[1]);
    ::close(ctl[0]);
    UniqueFd ctlWrite(ctl[1]);
    console_->afterClone();
    // With the metadata service: 'N' once the child's network namespace is up; the pod's
    // listener goes to the service before the pod starts (ABI §6).
    char c = 0;
    ssize_t got;
    do {
      got = ::read(report[0], &c, 1);
    } while (got < 0 && errno == EINTR);
    std::string failure;
    if (got == 1 && c == 'N') {
      try {
        UniqueFd netns = openFile("/proc/" + std::to_string(child_) + "/ns/net", O_RDONLY);
        UniqueFd listener = mds::listenInNetns(netns.get(), rt_.mds->port);
        mdsConnection_ = mds::registerPod(
            rt_.mds->socket, mds::registrationFromPodDir(podDir_, rt_.uuid, rt_.mds->token),
            listener.get());
        debugLine(debug_,
                  "registered with the metadata service at " + quote(rt_.mds->socket.string()));
      } catch (const std::exception&) {
        ::close(report[0]);
        throw;  // the child sees EOF on its control pipe and ends
      }
      if (::write(ctlWrite.get(), "g", 1) != 1) throwErrno("signal the child");
    } else if (got == 1) {
      failure += c;
    }
    char buf[512];
    for (;;) {
      ssize_t n = ::read(report[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      failure.append(buf, static_cast<size_t>(n));
    }
    ::close(report[0]);
    if (!failure.empty()) throw Error(Errc::kIo, failure);
    debugLine(debug_, "systemd-nspawn started: pid " + std::to_string(child_));
  }

  // Until the pod's PID 1 exists (then `pid`), or systemd-nspawn ended without one.
  bool awaitInit() {
    cgroup::Group initGroup = cgroups_.init();
    for (int i = 0; i < 30000; ++i) {
      if (auto pid = findPodInit(initGroup)) {
        initPid_ = *pid;
        writePidFile(podDir_, initPid_);
        debugLine(debug_, "pod init started: pid " + std::to_string(initPid_));
        return true;
      }
      int status;
      pid_t got = ::waitpid(child_, &status, WNOHANG);
      if (got == child_) {
        child_ = 0;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
      }
      drainSignals();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw Error(Errc::kIo, "the pod init did not start within 30 s");
  }

  // Waits for systemd-nspawn; the signals run gets go to the pod init (SIGTERM: its stop). An
  // interactive pod's bytes are copied meanwhile.
  void waitForEnd() {
    if (console_->proxies() && child_ > 0) {
      code_ = console_->waitForPod(
          child_, sigFd_.get(), [&](const std::string& line) { debugLine(debug_, line); },
          [&](int sig) { forward(sig); });
      child_ = 0;
    }
    // The signals are blocked (they come through sigFd_, SIGCHLD among them): a blocking
    // waitpid would sleep through systemd's SIGTERM, and a stopped unit's pod would run on until
    // its stop timed out and systemd SIGKILLed it.
    while (child_ > 0) {
      int status;
      pid_t got = ::waitpid(child_, &status, WNOHANG);
      if (got == child_) {
        child_ = 0;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (got < 0 && errno != EINTR) throwErrno("wait for systemd-nspawn");
      pollfd pfd{sigFd_.get(), POLLIN, 0};
      if (got == 0 && ::poll(&pfd, 1, -1) < 0 && errno != EINTR) throwErrno("wait for a signal");
      drainSignals();
    }
    debugLine(debug_, "systemd-nspawn exited: " + std::to_string(code_));
  }

  // Unregistered, status fixed up, cgroups removed, exit written; the pod's exit code.
  int finish() {
    released_ = true;
    size_t fixed = closePod(podDir_, pod_, std::move(mdsConnection_));
    // systemd-nspawn exits 1 when its payload was killed by a signal: the init, which handles
    // every other signal the host can send it, was SIGKILLed, and left apps running.
    if (code_ == 1 && fixed > 0) code_ = 128 + SIGKILL;
    try {
      cgroups_.remove();  // nspawn's payload/ and supervisor/ with init
      removeNspawnLeftovers(rt_.uuid);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ferry-stage1 run: %s\n", e.what());
    }
    writeExitFile(podDir_, code_);
    debugLine(debug_, "cgroups removed, exit written");
    return code_;
  }

 private:
  [[noreturn]] void childMain(const std::vector<const char*>& files, std::vector<char*>& argv,
                              int report, int ctl) noexcept {
    auto fail = [&](const std::string& message) {
      [[maybe_unused]] ssize_t n = ::write(report, message.data(), message.size());
      ::_exit(kOwnFailure);
    };
    try {
      // If run dies, systemd-nspawn stops the pod as on `stop` (its --kill-signal).
      if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) throwErrno("set the parent-death signal");
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (int e = console_->applyInChild(); e != 0) throwErrno(e, "set up the pod's stdio");
      size_t failed = 0;
      if (int e = cgroup::joinProcs(files.data(), files.size(), &failed); e != 0) {
        throwErrno(e, "join cgroup " + quote(files[failed]));
      }
      if (netns_) {
        if (::setns(netns_.get(), CLONE_NEWNET) != 0) {
          throwErrno("join the pod's network namespace");
        }
      } else if (rt_.net != "host") {
        if (::unshare(CLONE_NEWNET) != 0) throwErrno("create a network namespace");
        loopbackUp();
      }
      if (rt_.mds) {
        char c = 0;
        if (::write(report, "N", 1) != 1 || ::read(ctl, &c, 1) != 1 || c != 'g')
          ::_exit(kOwnFailure);
      }
      if (::unshare(CLONE_NEWNS) != 0) throwErrno("create a mount namespace");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        throwErrno("make the pod's mounts private");
      }
      for (const RuntimeApp& app : rt_.apps) {
        mountAppRootfs(podDir_ / "apps" / app.name, app.tree, !rt_.noOverlay);
      }
      privateCgroupRoot();
      // systemd-nspawn's own state (its propagation directory for the machine, its locks) in a
      // tmpfs of this mount namespace: nothing of it lands on the host, which may not have /run
      // on a tmpfs (nspawn then refuses to remove the directory it made).
      std::error_code ec;
      fs::create_directories(kNspawnState, ec);
      ::mount("tmpfs", kNspawnState, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755");
      // SYSTEMD_SECCOMP=0: no system call filter of nspawn's own under the apps' (it refuses
      // keyctl, add_key, … whatever the pod's --seccomp says): stage2 applies the pod's, as on
      // ns.
      // With socket activation, systemd-nspawn takes the descriptors at 3… as passed to it.
      char listenFds[32], listenPid[32];
      std::snprintf(listenFds, sizeof listenFds, "LISTEN_FDS=%d", listenFds_);
      std::snprintf(listenPid, sizeof listenPid, "LISTEN_PID=%d", static_cast<int>(::getpid()));
      const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_SECCOMP=0", nullptr,
                            nullptr, nullptr};
      if (listenFds_ > 0) {
        envp[2] = listenFds;
        envp[3] = listenPid;
      }
      ::execve(argv[0], argv.data(), const_cast<char* const*>(envp));
      throwErrno("execute " + quote(argv[0]));
    } catch (const std::exception& e) {
      fail(e.what());
    }
    ::_exit(kOwnFailure);
  }

  void drainSignals() {
    signalfd_siginfo si;
    while (::read(sigFd_.get(), &si, sizeof si) == sizeof si) {
      int sig = static_cast<int>(si.ssi_signo);
      // A window size before the pty exists: run copies the size when the pty attaches.
      if (sig != SIGCHLD && sig != SIGWINCH) forward(sig);
    }
  }

  void forward(int sig) {
    if (initPid_ > 0 && isPodProcess(initPid_, rt_.uuid)) {
      debugLine(debug_, "forwarding signal " + std::to_string(sig) + " to the pod init");
      ::kill(initPid_, sig);
    } else if (child_ > 0 && sig == SIGTERM) {
      ::kill(child_, SIGTERM);  // before the init exists: nspawn ends the container
    }
  }

  const Args& args_;
  fs::path podDir_;
  RuntimeOptions rt_;
  bool debug_ = false;
  fs::path nspawn_, init_, stage2_, root_;
  PodCgroups cgroups_;
  const cgroup::Group& pod_ = cgroups_.pod();
  std::vector<std::string> joinFiles_;
  std::vector<std::string> argv_;
  std::optional<Console> console_;
  UniqueFd sigFd_;
  UniqueFd netns_;  // runtime.json "netns": the child joins it
  UniqueFd mdsConnection_;
  int listenFds_ = 0;
  pid_t child_ = 0;
  pid_t initPid_ = 0;
  int code_ = kOwnFailure;
  bool made_ = false;
  bool released_ = false;
};

}  // namespace

std::string nspawnMachineName(const std::string& uuid) { return "ferry-" + uuid; }

void removeNspawnLeftovers(const std::string& uuid) {
  if (uuid.empty() || uuid.find('/') != std::string::npos) return;
  fs::path dir = fs::path("/run/systemd/nspawn/propagate") / nspawnMachineName(uuid);
  std::error_code ec;
  if (fs::symlink_status(dir, ec).type() == fs::file_type::directory) fs::remove_all(dir, ec);
}

std::vector<pid_t> nspawnProcesses(const std::vector<pid_t>& pids) {
  std::vector<pid_t> out;
  for (pid_t pid : pids) {
    std::string comm;
    try {
      comm = readFile("/proc/" + std::to_string(pid) + "/comm", 256);
    } catch (const std::exception&) {
      continue;
    }
    if (comm == "systemd-nspawn\n") out.push_back(pid);
  }
  return out;
}

int nspawnRunEntrypoint(const Args& args) {
  debugLine(false, "");  // starts the clock
  NspawnRun run(args);
  run.readPod();
  run.makeCgroups();
  run.planContainer();
  run.provideSeccomp();
  run.blockSignals();
  run.startContainer();
  // This process is the unit's main process: READY=1 once the pod init made `ready`.
  notifyReadyWhenPodIs(currentPodDir());
  if (run.awaitInit()) run.waitForEnd();
  podEnded();
  return run.finish();
}

}  // namespace ferry::stage1
