// The run entrypoint: the parent (this process, outside the pod) and the child it clones into
// new PID, IPC, UTS, mount (and network, unless "host") namespaces, which becomes the pod init.
//
//   parent                                  child (PID 1 of the pod)
//   cgroups.json (names only)
//   clone ─────────────────────────────────► PDEATHSIG; loopback up, hostname, rprivate,
//   pod cgroup, its device rules and limits,  app rootfs mounts (meanwhile: a cgroup move
//   init + app cgroups                        waits for an RCU grace period, milliseconds)
//   child → pod cgroup
//   'g' ───────────────────────────────────► cgroup namespace (rooted at the pod cgroup),
//                                            moves itself into pod/init, 'M'
//   delegate controllers, app limits,  ◄──── (the pod cgroup is empty of processes now, as v2
//   metadata service registration             wants before its children get controllers);
//                                            meanwhile its private root (private_root.hpp):
//                                            pivot_root, cwd = the pod directory
//   'g' ───────────────────────────────────► the pod init: here, this file being sealed (stage0
//                                            ran it from a read-only clone, ABI §4), what an
//                                            exec would do first (runInitHere); else exec
//                                            ferry-init (read-only bind, empty env)
//   EOF on the report pipe (init running): pid
//   wait, forwarding SIGTERM/SIGINT/SIGHUP
//   status fix-up, cgroups removed, exit
// A failure in the child before exec comes back as one line on the report pipe.
//
// With a user namespace (runtime.json privateUsers, docs/private-users.md) the clone adds
// CLONE_NEWUSER and the control pipe is a socket pair. Before the clone the parent lets the
// namespace's root (host uid START) into what the init and stage2 use (sharePodDir); after it,
// before the child does anything but wait:
//   writes the child's uid_map/gid_map,      receives 'u', the kinds and the descriptors;
//   makes each app's tree idmapped through   becomes the namespace's root (host uid START),
//   the namespace (or copies it, owners      PDEATHSIG again (a change of credentials
//   shifted, where it cannot be idmapped),   clears it), then as above: each app's overlay
//   each bind source idmapped (nosuid,       over its handed tree (userxattr), the private
//   nodev) and each binary read-only         root with the handed mounts and a sysfs
//   'u' + descriptors (SCM_RIGHTS) ────────►
// and chowns the cgroup.procs files the init writes (cgroups made after the clone).
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>

#include "common/cgroup.hpp"
#include "common/cgroup_devices.hpp"
#include "common/copy_tree.hpp"
#include "common/error.hpp"
#include "common/fd_passing.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/mds_client.hpp"
#include "common/sealed_exec.hpp"
#include "common/userns.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/entrypoint.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/net.hpp"
#include "stage1/common/pod_cgroups.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/pod_userns.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/common/run_steps.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/seccomp_cache.hpp"
#include "stage1/common/status.hpp"
#include "stage1/common/systemd.hpp"
#include "stage1/ns/console.hpp"
#include "stage1/ns/entrypoints.hpp"
#include "stage1/ns/private_root.hpp"
#include "stage2/init/pod_init.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe makePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("create a pipe");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

// A socket pair used as a pipe (read: the child's end), which can carry descriptors.
Pipe makeSocketPipe() {
  int p[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) != 0) {
    throwErrno("create a socket pair");
  }
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

// What the parent hands the child of a pod with a user namespace: one message, 'u' then a kind
// byte per app ('o': its idmapped tree follows, 'c': copied into its rootfs), per bind source
// ('s': follows, '-': missing) and per binary ('b'); the descriptors in that order.
constexpr size_t kMaxHanded = kMaxPassedFds;

void sendHanded(int sock, const std::string& kinds, const std::vector<UniqueFd>& fds) {
  if (fds.size() > kMaxHanded) {
    throw Error(Errc::kLimit, "cannot hand " + std::to_string(fds.size()) +
                                  " mounts to the pod's first process: at most " +
                                  std::to_string(kMaxHanded));
  }
  std::vector<int> raw;
  raw.reserve(fds.size());
  for (const UniqueFd& fd : fds) raw.push_back(fd.get());
  if (sendWithFds(sock, kinds, raw) != static_cast<ssize_t>(kinds.size())) {
    throwErrno("hand the mounts to the pod");
  }
}

// The child's side; false when the parent is gone or sent something else.
bool receiveHanded(int sock, std::string& kinds, std::vector<UniqueFd>& fds) {
  char buf[4096];
  int raw[kMaxHanded];
  FdMessage m = receiveWithFds(sock, buf, sizeof buf, raw);
  for (size_t i = 0; i < m.fds; ++i) fds.emplace_back(raw[i]);
  if (m.bytes < 1 || buf[0] != 'u' || m.truncated) return false;
  kinds.assign(buf + 1, static_cast<size_t>(m.bytes - 1));
  return true;
}

// What the child needs, prepared before the clone.
struct ChildPlan {
  fs::path podDir;
  bool initHere = false;  // the init runs in the child itself (runInitHere), no exec
  fs::path init;          // else the ferry-init it execs
  std::string hostname;
  bool privateUts = true;  // fly: the host's UTS namespace, whose hostname is not the pod's
  bool privateNet = true;
  int netnsFd = -1;  // the namespace stage0 made (runtime.json "netns"), joined before anything
  bool overlay = true;
  bool debug = false;
  std::vector<RuntimeApp> apps;
  std::vector<std::string> initProcs;  // pod/init's cgroup.procs files
  const Console* console = nullptr;    // the pod's stdio and session (console.hpp)
  PrivateRootPlan root;                // the init's own root (private_root.hpp)
  bool userns = false;                 // privateUsers: wait for the handed mounts first
  std::vector<std::string> initEnv;    // socket activation, journal (stage1/common/systemd.hpp)
};

// Every descriptor marked close-on-exec closed, as the exec of an init would: what stays is
// stdio, the pod's lock and what the init's environment names (socket activation, the journal).
void closeCloseOnExec() {
  std::vector<int> fds;
  {
    UniqueFd dir(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throwErrno("open /proc/self/fd");
    char buf[4096];
    for (;;) {
      long n = ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
      if (n < 0) throwErrno("read /proc/self/fd");
      if (n == 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
        int fd = std::atoi(d->d_name);
        if (fd > 2 && fd != dir.get()) fds.push_back(fd);
      }
    }
  }
  for (int fd : fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) != 0) ::close(fd);
  }
}

// What /proc/1/cmdline and /proc/1/environ show: the command line "ferry-init", as the exec'd
// init's, and an environment of NULs (the init's own is on its heap). The kernel reads the
// command line up to its first NUL when the area's last byte is not one (setproctitle's rule).
void hideInvocation() {
  const Invocation& inv = invocation();
  if (inv.argc > 0 && inv.argv != nullptr) {
    char* start = inv.argv[0];
    char* last = inv.argv[inv.argc - 1];
    size_t size = static_cast<size_t>(last + std::strlen(last) + 1 - start);
    static constexpr char kName[] = "ferry-init";
    if (size > sizeof kName) {
      std::memset(start, 0, size);
      std::memcpy(start, kName, sizeof kName);
      start[size - 1] = ' ';
    }
  }
  if (inv.envp != nullptr && inv.envp[0] != nullptr) {
    size_t n = 0;
    while (inv.envp[n] != nullptr) ++n;
    char* start = inv.envp[0];
    char* last = inv.envp[n - 1];
    std::memset(start, 0, static_cast<size_t>(last + std::strlen(last) + 1 - start));
  }
}

// The pod init in this process, started as an exec of ferry-init would start it (ABI §5), one
// program start fewer: this executable is sealed (stage0 runs it from a read-only clone of its
// directory, ABI §4), so the pod can no more write it through /proc/1/exe than ferry-init's
// read-only bind, and the init runs stage2 in its children for the same reason. Across the exec
// the kernel would close the close-on-exec descriptors (the report pipe's EOF tells the parent
// the init runs), reset each caught signal (the blocked ones stay blocked, the ignored ones
// ignored), and replace the environment, command line and name; so does this.
[[noreturn]] void runInitHere(const ChildPlan& plan) {
  replaceEnvironment(plan.initEnv);
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_DFL &&
        old.sa_handler != SIG_IGN) {
      ::signal(sig, SIG_DFL);
    }
  }
  hideInvocation();
  ::prctl(PR_SET_NAME, "ferry-init", 0, 0, 0);
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throwErrno("make the pod init non-dumpable");
  std::string podDir = plan.podDir.string();
  closeCloseOnExec();
  int code = init::runPod(podDir);
  std::fflush(nullptr);
  ::_exit(code);
}

[[noreturn]] void childMain(const ChildPlan& plan, int ctl, int report) noexcept {
  auto failWith = [&](const std::string& message) {
    std::string line = "E" + message;
    [[maybe_unused]] ssize_t n = ::write(report, line.data(), line.size());
    ::_exit(kOwnFailure);
  };
  try {
    // The parent lives as long as the pod: if it dies (kill -9), so does the pod.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throwErrno("set the parent-death signal");
    std::string kinds;
    std::vector<UniqueFd> handed;
    if (plan.userns) {
      // Host uid 0 until the parent has written the maps: nothing but the wait.
      if (!receiveHanded(ctl, kinds, handed)) ::_exit(kOwnFailure);
      if (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresuid(0, 0, 0) != 0) {
        throwErrno("become the root of the pod's user namespace");
      }
      // The change of credentials cleared the parent-death signal. (A parent that died in
      // between leaves the next wait with EOF.)
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throwErrno("set the parent-death signal");
    }
    if (int e = plan.console->applyInChild(); e != 0) throwErrno(e, "set up the pod's stdio");
    // A namespace stage0 made has its loopback up already (and may belong to a user namespace
    // this process has no capability over).
    if (plan.privateNet && plan.netnsFd < 0) loopbackUp();
    if (plan.privateUts && !plan.hostname.empty() &&
        ::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
      throwErrno("set the hostname to " + quote(plan.hostname));
    }
    // Nothing mounted from here on propagates to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      throwErrno("make the pod's mounts private");
    }
    PrivateRootPlan root = plan.root;
    if (plan.userns) {
      size_t next = 0, k = 0;
      auto take = [&]() -> int {
        if (next >= handed.size()) throw Error(Errc::kIo, "fewer mounts handed than announced");
        return handed[next++].get();
      };
      for (const RuntimeApp& app : plan.apps) {
        char kind = k < kinds.size() ? kinds[k++] : 0;
        if (kind == 'o') {
          mountIdmappedOverlay(fs::path("apps") / app.name, take());
          debugLine(plan.debug, app.name + ": rootfs overlay over " + app.tree.string() +
                                    " idmapped into the pod's user namespace");
        } else if (kind != 'c') {
          throw Error(Errc::kIo, "the parent handed no rootfs for app " + quote(app.name));
        }
      }
      for (const fs::path& p : plan.root.sources) {
        if (k < kinds.size() && kinds[k++] == 's') root.handed[p] = take();
      }
      for (const fs::path& p : plan.root.binaries) {
        if (k < kinds.size() && kinds[k++] == 'b') root.handed[p] = take();
      }
    } else {
      for (const RuntimeApp& app : plan.apps) {
        RootfsKind kind = mountAppRootfs(plan.podDir / "apps" / app.name, app.tree, plan.overlay);
        debugLine(plan.debug, app.name + ": rootfs " +
                                  (kind == RootfsKind::kOverlay ? "overlay" : "copied") + " from " +
                                  app.tree.string());
      }
    }
    if (!awaitGo(ctl)) ::_exit(kOwnFailure);
    if (!plan.initProcs.empty()) {
      // Rooted at the pod cgroup: apps see "/" as the pod, and the init can still move its
      // children into the app cgroups, which are inside the namespace.
      if (::unshare(CLONE_NEWCGROUP) != 0) throwErrno("create a cgroup namespace");
      std::vector<const char*> files;
      for (const auto& f : plan.initProcs) files.push_back(f.c_str());
      size_t failed = 0;
      if (int e = cgroup::joinProcs(files.data(), files.size(), &failed); e != 0) {
        throwErrno(e, "join cgroup " + quote(plan.initProcs[failed]));
      }
    }
    if (::write(report, "M", 1) != 1) throwErrno("report to the parent");
    // While the parent delegates controllers and applies limits: the init's own root, which
    // holds the pod directory, the app cgroups and read-only ferry-init and ferry-stage2 at
    // their host paths, and nothing else of the host (private_root.hpp).
    debugLine(plan.debug, "the init's private root: building");
    enterPrivateRoot(root);
    handed.clear();
    debugLine(plan.debug, "the init's private root: pivoted into");
    if (!awaitGo(ctl)) ::_exit(kOwnFailure);
    // SIGTERM, SIGINT, SIGHUP and SIGCHLD stay blocked (as in the parent) across the exec: a
    // namespace's init drops a signal it has no handler for unless the signal is blocked, so a
    // stop that arrives before the init has its signalfd waits for it instead of being lost.
    // In the pod's working directory, the pod directory: `ps` in the pod shows "ferry-init",
    // no host path (the init reads the pod directory from its working directory). An empty
    // environment: whatever ferry's caller had in its own is none of the pod's business (the
    // pod could read it in /proc/1/environ).
    if (plan.initHere) runInitHere(plan);
    const char* argv[] = {"ferry-init", nullptr};
    // LISTEN_FDS, LISTEN_FDNAMES, FERRY_JOURNAL_FD, FERRY_JOURNAL_UNIT: at most 4.
    const char* envp[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
    for (size_t i = 0; i < plan.initEnv.size() && i < 4; ++i) envp[i] = plan.initEnv[i].c_str();
    ::execve(plan.init.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    throwErrno("execute the pod init " + quote(plan.init.string()));
  } catch (const std::exception& e) {
    failWith(e.what());
  }
  ::_exit(kOwnFailure);
}

// --- a pod with a user namespace (the parent's side)

// open_tree + mount_setattr(MOUNT_ATTR_IDMAP | attrs): a detached, idmapped clone of `path`, or
// nothing when the kernel or the filesystem cannot idmap it (`why` says so).
UniqueFd tryIdmappedTree(const fs::path& path, int usernsFd, uint64_t attrs, std::string& why) {
  UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, path.c_str(),
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
  if (!tree) throwErrno("clone the mount tree of " + quote(path.string()));
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP | attrs;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                sizeof attr) == 0) {
    return tree;
  }
  if (errno != EINVAL && errno != EOPNOTSUPP && errno != EPERM && errno != ENOSYS) {
    throwErrno("idmap the mount of " + quote(path.string()));
  }
  why = "its filesystem (or one mounted under it) cannot be idmapped: " +
        std::string(std::strerror(errno));
  return UniqueFd();
}

// After the clone: the maps, then every mount the child needs from the host, handed over.
void handToChild(pid_t pid, int sock, const ChildPlan& plan, const PrivateUsers& users,
                 bool debug) {
  idmap::IdRange range = idmap::IdRange::make(users.uid, users.count);
  userns::mapIds(pid, range);
  UniqueFd ns = openFile("/proc/" + std::to_string(pid) + "/ns/user", O_RDONLY);
  debugLine(debug, "user namespace mapped: " + range.describe());
  std::string kinds = "u";
  std::vector<UniqueFd> fds;
  for (const RuntimeApp& app : plan.apps) {
    std::string why = "--no-overlay";
    if (plan.overlay) {
      UniqueFd tree = tryIdmappedTree(app.tree, ns.get(), 0, why);
      if (tree) {
        fds.push_back(std::move(tree));
        kinds += 'o';
        continue;
      }
    }
    // A copy the pod owns: the store's tree is never chowned.
    debugLine(debug, app.name + ": rootfs copied from " + app.tree.string() +
                         ", owners shifted by " + std::to_string(users.uid) + " (" + why + ")");
    fs::path rootfs = plan.podDir / "apps" / app.name / "rootfs";
    removeTree(rootfs);
    copyTree(app.tree, rootfs, {.idShift = users.uid, .idCount = users.count});
    kinds += 'c';
  }
  for (const fs::path& p : plan.root.sources) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) throwErrno("stat " + quote(p.string()));
      kinds += '-';
      continue;
    }
    // The pod sees the owners it would see without a user namespace; files stored as uid 0
    // are its root's to change (SECURITY.md).
    std::string why;
    UniqueFd tree = tryIdmappedTree(p, ns.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, why);
    if (!tree) {
      if (S_ISDIR(st.st_mode)) {
        throw Error(Errc::kUnsupported, "not supported: sharing " + quote(p.string()) +
                                            " with a pod in a user namespace: " + why);
      }
      // A file (the host's /etc/hosts or /etc/resolv.conf): as it is, read-only.
      tree = UniqueFd(static_cast<int>(
          ::syscall(SYS_open_tree, AT_FDCWD, p.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
      if (!tree) throwErrno("clone the mount of " + quote(p.string()));
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
      if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
        throwErrno("make the mount of " + quote(p.string()) + " read-only");
      }
    }
    fds.push_back(std::move(tree));
    kinds += 's';
  }
  for (const fs::path& p : plan.root.binaries) {
    UniqueFd tree(static_cast<int>(
        ::syscall(SYS_open_tree, AT_FDCWD, p.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree) throwErrno("clone the mount of " + quote(p.string()));
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      throwErrno("make the mount of " + quote(p.string()) + " read-only");
    }
    fds.push_back(std::move(tree));
    kinds += 'b';
  }
  sendHanded(sock, kinds, fds);
  debugLine(debug, "mounts handed to the pod's first process: " + std::to_string(fds.size()));
}

// run as named steps, in this order (runPod): readPod, planChild, planCgroups,
// planPrivateRootOfInit, planUserNamespace, blockSignals, clonePod, makeCgroups, joinCgroups,
// provideSeccomp, registerMds, startInit, waitForEnd, finish. Until finish, a failure kills the
// pod's first process and removes whatever of the planned cgroups exists (PodGuard).
class PodRun {
 public:
  PodRun(const Args& args, const RunFlavor& flavor) : args_(args), flavor_(flavor) {}

  // runtime.json, --uuid, what this stage1's descriptor does not offer, the lock.
  void readPod() {
    debugLine(false, "");  // starts the clock
    podDir_ = currentPodDir();
    rt_ = RuntimeOptions::read(podDir_);
    debug_ = args_.debug || rt_.debug;
    rt_.checkUuid(args_.uuid);
    // What this stage1's descriptor does not offer (a --net mode, more apps than maxApps, …).
    refuseUnsupported(ownDescriptor(), rt_, podDir_);
    // The lock stays held for the pod's life: by this process, and by the init (which marks it
    // close-on-exec for the apps), so a pod whose stage1 was killed still reads as running.
    keepLockFd(args_.lockFd);
  }

  // What the pod's first process does: the init it execs (and its environment), its
  // namespaces, the pod's stdio.
  void planChild() {
    plan_.podDir = podDir_;
    // The init in the pod's first process itself when this executable is sealed (stage0's
    // read-only clone, ABI §4) and runtime.json names no init of its own; else an exec of
    // ferry-init from a read-only bind in the init's root (this file run by hand, as tests do).
    plan_.initHere = rt_.init.empty() && selfExeSealed();
    if (!plan_.initHere) {
      plan_.init = rt_.init.empty() ? selfDir() / "ferry-init" : fs::path(rt_.init);
      if (::access(plan_.init.c_str(), X_OK) != 0)
        throwErrno("execute the pod init " + quote(plan_.init.string()));
      // The path the init sees as its own (/proc/self/exe), beside which it finds ferry-stage2.
      plan_.init = fs::canonical(plan_.init);
    }
    plan_.hostname = rt_.hostname;
    plan_.privateUts = !flavor_.hostNamespaces;
    plan_.privateNet = rt_.net != "host" && !flavor_.hostNamespaces;
    // The pod's own network namespace, made by stage0 (ABI §2 "netns"): never the host's.
    if (rt_.net == "netns") {
      netns_ = openPodNetns(*rt_.netns);
      plan_.netnsFd = netns_.get();
    }
    plan_.overlay = !rt_.noOverlay;
    plan_.debug = debug_;
    plan_.apps = rt_.apps;
    console_.emplace(rt_.interactive);
    plan_.console = &*console_;
    plan_.initEnv = socketActivationEnv();
    if (rt_.logDriver == "journal") connectJournalForInit(plan_.initEnv, rt_.uuid);
  }

  // Every limit and device rule is read (and refused if unsupported) before anything is
  // created; cgroups.json names the cgroups before they exist, so that gc finds whatever a crash
  // leaves. No cgroup in a v1 cpuset hierarchy (PodCgroups::plan): the init's root mounts only
  // the hierarchies of cgroups.json, so the pod sees none there.
  void planCgroups() {
    cgroups_ = PodCgroups::plan(podDir_, rt_, /*cpuset=*/false);
    plan_.initProcs = pod_.limitable().child(cgroup::kInitCgroupName).procsFiles();
  }

  // The init's own root (private_root.hpp).
  void planPrivateRootOfInit() {
    plan_.root = planPrivateRoot(podDir_, rt_.apps);
    // The executables the init runs from its root, each bound read-only: none when it runs
    // here and stage2 in its children (both this sealed file), else ferry-init and the
    // ferry-stage2 it execs.
    if (!plan_.initHere) {
      plan_.root.binaries = {plan_.init, rt_.stage2.empty()
                                             ? plan_.init.parent_path() / "ferry-stage2"
                                             : fs::path(rt_.stage2)};
    } else if (!rt_.stage2.empty()) {
      plan_.root.binaries = {fs::path(rt_.stage2)};
    }
    // Every hierarchy of cgroups.json read-only (the init checks each is a cgroupfs), the pod's
    // cgroups writable where the init moves children into app cgroups.
    for (const cgroup::Member& m : pod_.members()) plan_.root.cgroupMounts.push_back(m.mount);
    cgroup::Group limitable = pod_.limitable();
    for (const cgroup::Member& m : limitable.members()) {
      plan_.root.cgroups.push_back(m.dir);
    }
    plan_.root.terminal = rt_.interactive;
    // The pod's own journal, where `journalctl -M ferry-<uuid>` reads it (ABI §5 "systemd").
    if (auto files = journalNamespaceFiles(podJournalNamespace(rt_.uuid));
        rt_.logDriver == "journal" && files && fs::is_directory(*files)) {
      plan_.root.journalAt = fs::path("/var/log/journal") / podMachineId(rt_.uuid);
      plan_.root.journalFrom = *files;
    }
  }

  // privateUsers: the pod directory shared with the namespace's ids (sharePodDir).
  void planUserNamespace() {
    if (!rt_.privateUsers) return;
    if (rt_.privateUsers->uid != rt_.privateUsers->gid) {
      throw Error(Errc::kUnsupported,
                  "not supported: runtime.json privateUsers with different uid and gid starts");
    }
    plan_.userns = true;
    // With --net=host the network namespace is the host's: no sysfs of the pod's own.
    plan_.root.sysfs = plan_.privateNet;
    plan_.root.hostSysfs = !plan_.privateNet;
    sharePodDir(podDir_, rt_, rt_.privateUsers->uid, rt_.privateUsers->gid);
  }

  void blockSignals() {
    sigset_t set;
    ::sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
    console_->addSignals(&set);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block signals");
    ::signal(SIGPIPE, SIG_IGN);  // a closed terminal must not kill the process the pod lives by
    sigFd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!sigFd_) throwErrno("create a signalfd");
  }

  // The pod's first process in its new namespaces (childMain); with privateUsers, its maps and
  // the mounts handed to it.
  void clonePod() {
    ctl_ = plan_.userns ? makeSocketPipe() : makePipe();
    report_ = makePipe();
    unsigned long cloneFlags = CLONE_NEWNS;
    if (!flavor_.hostNamespaces) cloneFlags |= CLONE_NEWPID | CLONE_NEWUTS;
    if (!flavor_.hostNamespaces && rt_.ipc != "parent") cloneFlags |= CLONE_NEWIPC;  // --ipc
    if (plan_.privateNet && plan_.netnsFd < 0) cloneFlags |= CLONE_NEWNET;
    // The namespace stage0 made: this process joins it for the clone, so that the child is born
    // in it (a child in a user namespace of its own could not join a namespace of the host's),
    // and returns to its own right after.
    UniqueFd ownNetns;
    if (plan_.netnsFd >= 0) {
      ownNetns = openFile("/proc/thread-self/ns/net", O_RDONLY);
      if (::setns(plan_.netnsFd, CLONE_NEWNET) != 0) {
        throwErrno("join the pod's network namespace");
      }
    }
    // Every other namespace is then owned by the user namespace: the pod's root may mount proc,
    // sysfs, mqueue, devpts and tmpfs in them.
    if (plan_.userns) cloneFlags |= CLONE_NEWUSER;
    std::fflush(nullptr);
    pid_t pid = static_cast<pid_t>(
        ::syscall(SYS_clone, cloneFlags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid != 0 && ownNetns && ::setns(ownNetns.get(), CLONE_NEWNET) != 0) {
      // Never go on in the pod's network namespace.
      std::perror("ferry-stage1 run: cannot return to its own network namespace");
      if (pid > 0) ::kill(pid, SIGKILL);
      ::_exit(kOwnFailure);
    }
    if (pid < 0) throwErrno("create the pod's namespaces (clone)");
    if (pid == 0) {
      ctl_.write.reset();
      report_.read.reset();
      childMain(plan_, ctl_.read.get(), report_.write.get());
    }
    pid_ = pid;
    debugLine(debug_, "namespaces created: pid " + std::to_string(pid_));
    ctl_.read.reset();
    report_.write.reset();
    console_->afterClone();
    // The child is busy mounting meanwhile. From here on a failure kills it and removes whatever
    // of the planned cgroups exists.
    guard_.emplace(pod_);
    guard_->setPid(pid_);
    if (plan_.userns) {
      try {
        handToChild(pid_, ctl_.write.get(), plan_, *rt_.privateUsers, debug_);
      } catch (const std::exception&) {
        ctl_.write.reset();
        throw;
      }
    }
  }

  // The pod cgroup with its device rules and limits, and the init and app cgroups below it.
  void makeCgroups() {
    cgroups_.make();
    debugLine(debug_, "cgroups created in " + std::to_string(pod_.members().size()) +
                          " hierarchies, device rules in place (" +
                          std::to_string(cgroups_.devices().entries().size()) +
                          " allowed entries)");
    if (plan_.userns) {
      cgroup::Group podLimitable = pod_.limitable();
      std::vector<const cgroup::Group*> movers = {&podLimitable, &cgroups_.init()};
      for (const cgroup::Group& g : cgroups_.apps()) movers.push_back(&g);
      chownProcsFiles(movers, rt_.privateUsers->uid, rt_.privateUsers->gid);
    }
  }

  // The pod's first process into the pod cgroup (it moves itself into init); then the pod
  // cgroup, empty, delegates its controllers and the apps' limits apply.
  void joinCgroups() {
    char c = 0;
    try {
      pod_.join(pid_);
      debugLine(debug_, "the pod's first process joined its cgroups");
      if (::write(ctl_.write.get(), "g", 1) != 1) throwErrno("signal the pod's first process");
      if (::read(report_.read.get(), &c, 1) != 1) c = 0;
    } catch (const std::exception&) {
      // The child may have failed first (mounting, say): its reason is the one to report. Else
      // it waits for a 'g' that never comes: EOF on the control pipe ends it (the read returns
      // then).
      ctl_.write.reset();
      if (::read(report_.read.get(), &c, 1) != 1 || c != 'E') throw;
    }
    if (c != 'M') {
      std::string rest = readReport(report_.read.get());
      if (c == 'E') throw Error(Errc::kIo, rest);
      throw Error(Errc::kIo, "the pod's first process died while joining its cgroups");
    }
    // The pod cgroup holds no process now: its children may get controllers and limits.
    cgroups_.delegate();
  }

  // Each app's compiled seccomp filter linked into its bundle from the host's cache (ABI §3
  // "apps/<app>/seccomp.bpf"), while the pod's first process builds the init's root: stage2
  // then loads it instead of compiling. A failure here only leaves the compile to stage2.
  void provideSeccomp() {
    for (const std::string& line : provideSeccompFilters(podDir_, rt_)) debugLine(debug_, line);
  }

  // The metadata service (ABI §6): a listener on the pod's own loopback (up by now), passed to
  // the service; the registration lasts as long as this connection, i.e. the pod.
  void registerMds() {
    if (!rt_.mds) return;
    UniqueFd netns = openFile("/proc/" + std::to_string(pid_) + "/ns/net", O_RDONLY);
    UniqueFd listener = mds::listenInNetns(netns.get(), rt_.mds->port);
    mdsConnection_ = mds::registerPod(
        rt_.mds->socket, mds::registrationFromPodDir(podDir_, rt_.uuid, rt_.mds->token),
        listener.get());
    debugLine(debug_, "registered with the metadata service at " + quote(rt_.mds->socket.string()));
  }

  // The go for the init's exec; the pid file once it is done; READY=1 to systemd once the pod
  // init made `ready` (stage1/common/systemd.hpp).
  void startInit() {
    if (::write(ctl_.write.get(), "g", 1) != 1) throwErrno("signal the pod's first process");
    std::string failure = readReport(report_.read.get());
    if (!failure.empty()) {
      throw Error(Errc::kIo, failure[0] == 'E' ? failure.substr(1) : failure);
    }
    // Nothing of a running pod outlives a reboot, so its files are written without fsync (the
    // start would wait for the disk otherwise): atomic for readers is all they need.
    writePidFile(podDir_, pid_);
    debugLine(debug_,
              "pod init started (rootfs mounted, init running): pid " + std::to_string(pid_));
    notifyReadyWhenPodIs(podDir_);
  }

  void waitForEnd() {
    code_ = console_->proxies()
                ? console_->waitForPod(pid_, sigFd_.get(),
                                       [&](const std::string& line) { debugLine(debug_, line); })
                : waitForInit(pid_, sigFd_.get(), debug_);
    debugLine(debug_, "the pod init exited: " + std::to_string(code_));
  }

  // Unregistered, status fixed up, cgroups removed, exit written: the pod's exit code.
  int finish() {
    guard_->release();
    closePod(podDir_, pod_, std::move(mdsConnection_));
    return endPod(podDir_, cgroups_, code_, debug_);
  }

 private:
  const Args& args_;
  const RunFlavor flavor_;
  fs::path podDir_;
  RuntimeOptions rt_;
  bool debug_ = false;
  ChildPlan plan_;
  UniqueFd netns_;  // runtime.json "netns", joined for the clone
  std::optional<Console> console_;
  PodCgroups cgroups_;  // planned by planCgroups, made by makeCgroups
  const cgroup::Group& pod_ = cgroups_.pod();
  UniqueFd sigFd_;
  Pipe ctl_, report_;
  pid_t pid_ = 0;
  std::optional<PodGuard> guard_;  // after pod_: destroyed first
  UniqueFd mdsConnection_;
  int code_ = kOwnFailure;
};

}  // namespace

int runPod(const Args& args, const RunFlavor& flavor) {
  PodRun run(args, flavor);
  run.readPod();
  run.planChild();
  run.planCgroups();
  run.planPrivateRootOfInit();
  run.planUserNamespace();
  run.blockSignals();
  run.clonePod();
  run.makeCgroups();
  run.joinCgroups();
  run.provideSeccomp();
  run.registerMds();
  run.startInit();
  run.waitForEnd();
  return run.finish();
}

int runEntrypoint(const Args& args) { return runPod(args, RunFlavor{}); }

}  // namespace ferry::stage1
