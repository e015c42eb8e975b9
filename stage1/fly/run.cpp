// The fly stage1's run entrypoint (stage1/ABI.md §4 "fly"): one app in the host's PID, IPC, UTS,
// network and cgroup namespaces, with a mount namespace of its own. As rkt's fly, no pod of
// namespaces and no private root for an init: what a one-app pod in the host's namespaces needs,
// and nothing the ns stage1 does for a pod of its own.
//
//   run (this process, the host's namespaces)   the pod's first process (a mount namespace)
//   refuse sysctls; cgroups.json; the pod
//   cgroup with its device rules and limits,
//   init + app cgroups
//   clone(CLONE_NEWNS) ───────────────────────► not dumpable; setsid and stdio (console.hpp);
//   child → pod cgroup                          rprivate; the app's rootfs; ferry-stage2 bound
//                                               read-only on itself
//   'g' ──────────────────────────────────────► cgroup namespace (rooted at the pod cgroup, as
//                                               on ns: ferry-stage2 mounts the app's cgroups
//                                               only in one), moves itself into pod/init, 'M'
//   delegate controllers, app limits      ◄──── (the pod cgroup is empty of processes now)
//   'g' ──────────────────────────────────────► the pod init's loop in this very process (no
//                                               exec), with the init's environment only
//   EOF on the report pipe: pid                 └─ fork: stage2 in that child
//   wait, forwarding SIGTERM/SIGINT/SIGHUP         └─ exec: the app
//   status fix-up, cgroups removed, exit
// One exec per pod, the app's, as on ns: the init and the cgroups are the same, so stop, enter
// and gc are the ns stage1's. The init's children run stage2 in-process because stage0 runs this
// file from a read-only clone of its directory (ABI §4), which an app's `#!/proc/self/exe`
// entrypoint may hold but never write; run by hand (its file writable) the init's loop execs
// the ferry-stage2 bound read-only instead (stage2/init/pod_init.cpp). A failure in the child
// before the init's loop comes back as one line on the report pipe.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/cgroup.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/mds_client.hpp"
#include "formats/oci/sysctl.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/common/pod_cgroups.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/run_steps.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/seccomp_cache.hpp"
#include "stage1/common/status.hpp"
#include "stage1/common/systemd.hpp"
#include "stage1/ns/console.hpp"
#include "stage1/ns/entrypoints.hpp"
#include "stage2/init/pod_init.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// A pod of fly shares the host's IPC, UTS and network namespaces, so every namespaced sysctl an
// app's config.json asks for (an IPC key, kernel.hostname, net.*) would be written into the
// host's: refused before anything exists, whatever config.json's own namespaces list says
// (ferry-stage2 trusts that list).
void refuseSysctls(const fs::path& podDir, const RuntimeOptions& rt) {
  for (const RuntimeApp& app : rt.apps) {
    fs::path file = podDir / podfile::kApps / app.name / podfile::kAppConfig;
    json::Json doc = json::parse(readFile(file, 16 << 20), quote(file.string()));
    const json::Json* sysctl = nullptr;
    if (doc.is_object() && doc.contains("linux") && doc["linux"].is_object() &&
        doc["linux"].contains("sysctl")) {
      sysctl = &doc["linux"]["sysctl"];
    }
    if (sysctl == nullptr || !sysctl->is_object() || sysctl->empty()) continue;
    std::string key = sysctl->begin().key();
    auto ns = oci::sysctlNamespace(key);
    throw Error(Errc::kUnsupported,
                "not supported: stage1 \"fly\" shares the host's IPC, UTS and network "
                "namespaces: app " +
                    quote(app.name) + " cannot set sysctl " + key +
                    (ns ? " (its " + std::string(*ns) + " namespace is the host's)" : ""));
  }
}

// What the pod's first process needs, prepared before the clone (it allocates nothing it could
// not before its failure report).
struct ChildPlan {
  fs::path podDir;
  RuntimeApp app;
  bool overlay = true;
  fs::path stage2;                     // bound read-only on itself before the init's loop
  std::vector<std::string> initProcs;  // pod/init's cgroup.procs files
  std::vector<std::string> initEnv;    // the init's whole environment (systemd.hpp)
  const Console* console = nullptr;
};

// Binds `path` read-only on itself in this mount namespace: what execs from it runs from a
// read-only mount (common/sealed_exec.hpp), never from a file a pod could reopen for writing.
void bindReadOnly(const fs::path& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throwErrno("bind " + quote(path.string()));
  }
  if (::mount(nullptr, path.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0) {
    throwErrno("make the bind of " + quote(path.string()) + " read-only");
  }
}

[[noreturn]] void childMain(const ChildPlan& plan, int ctl, int report) noexcept {
  try {
    // run lives as long as the pod: if it dies (kill -9), so does the pod's init.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) throwErrno("set the parent-death signal");
    // Not dumpable (as ferry-init makes itself): a process of the host's PID namespace cannot
    // open /proc/<pid>/{exe,fd,root,mem,environ} of this root process without CAP_SYS_PTRACE;
    // each child keeps it until ferry-stage2 execs the app.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throwErrno("make the process non-dumpable");
    if (int e = plan.console->applyInChild(); e != 0) throwErrno(e, "set up the pod's stdio");
    // Nothing mounted from here on propagates to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      throwErrno("make the pod's mounts private");
    }
    mountAppRootfs(plan.podDir / podfile::kApps / plan.app.name, plan.app.tree, plan.overlay);
    bindReadOnly(plan.stage2);
    if (::chdir(plan.podDir.c_str()) != 0) throwErrno("enter " + quote(plan.podDir.string()));
    // The init's environment and nothing else (ABI §5: whatever ferry's caller had in its own
    // is none of the pod's business).
    replaceEnvironment(plan.initEnv);
    if (!awaitGo(ctl)) ::_exit(kOwnFailure);
    // Rooted at the pod cgroup (the parent moved this process there): ferry-stage2 roots each
    // app's own at the app's cgroup, and the init can still move its children into the app
    // cgroups, which are inside this one.
    if (::unshare(CLONE_NEWCGROUP) != 0) throwErrno("create a cgroup namespace");
    std::vector<const char*> files;
    for (const auto& f : plan.initProcs) files.push_back(f.c_str());
    size_t failed = 0;
    if (int e = cgroup::joinProcs(files.data(), files.size(), &failed); e != 0) {
      throwErrno(e, "join cgroup " + quote(plan.initProcs[failed]));
    }
    if (::write(report, "M", 1) != 1) throwErrno("report to the parent");
    if (!awaitGo(ctl)) ::_exit(kOwnFailure);
  } catch (const std::exception& e) {
    std::string line = "E" + std::string(e.what());
    [[maybe_unused]] ssize_t n = ::write(report, line.data(), line.size());
    ::_exit(kOwnFailure);
  }
  // EOF on the report pipe: the pod is up (its init's loop starts; it closes every descriptor
  // above 2 for the apps).
  ::close(report);
  ::close(ctl);
  std::fflush(nullptr);
  ::_exit(init::runPod(plan.podDir.string()));
}

}  // namespace

int flyRunEntrypoint(const Args& args) {
  debugLine(false, "");  // starts the clock
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = RuntimeOptions::read(podDir);
  bool debug = args.debug || rt.debug;
  rt.checkUuid(args.uuid);
  refuseUnsupported(ownDescriptor(), rt, podDir);
  // Whatever the descriptor says: one app, the host's network and IDs.
  if (rt.apps.size() != 1) {
    throw Error(Errc::kUnsupported, "not supported: stage1 \"fly\" runs one app, not " +
                                        std::to_string(rt.apps.size()));
  }
  if (rt.net != "host") {
    throw Error(
        Errc::kUnsupported,
        "not supported: stage1 \"fly\" runs in the host's network namespace, not --net=" + rt.net);
  }
  if (rt.privateUsers) {
    throw Error(Errc::kUnsupported, "not supported: stage1 \"fly\" runs with the host's IDs");
  }
  refuseSysctls(podDir, rt);
  keepLockFd(args.lockFd);

  ChildPlan plan;
  plan.podDir = podDir;
  plan.app = rt.apps.front();
  plan.overlay = !rt.noOverlay;
  // The init's loop runs in this binary; ferry-stage2 is found as ferry-init finds it.
  plan.stage2 = rt.stage2.empty() ? selfDir() / "ferry-stage2" : fs::path(rt.stage2);
  if (::access(plan.stage2.c_str(), X_OK) != 0) {
    throwErrno("execute " + quote(plan.stage2.string()));
  }
  plan.stage2 = fs::canonical(plan.stage2);
  Console console(rt.interactive);
  plan.console = &console;
  plan.initEnv = socketActivationEnv();
  if (rt.logDriver == "journal") connectJournalForInit(plan.initEnv, rt.uuid);

  // The cgroups, made before any process joins (delegated once the pod's first process has
  // moved on into pod/init).
  PodCgroups cgroups = PodCgroups::plan(podDir, rt);
  PodGuard guard(cgroups.pod());
  cgroups.make();
  plan.initProcs = cgroups.pod().limitable().child(cgroup::kInitCgroupName).procsFiles();
  debugLine(debug, "cgroups created in " + std::to_string(cgroups.pod().members().size()) +
                       " hierarchies, device rules in place (" +
                       std::to_string(cgroups.devices().entries().size()) + " allowed entries)");

  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, sig);
  console.addSignals(&set);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block signals");
  ::signal(SIGPIPE, SIG_IGN);  // a closed terminal must not kill the process the pod lives by
  UniqueFd sigFd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sigFd) throwErrno("create a signalfd");

  int p[2], q[2];
  if (::pipe2(p, O_CLOEXEC) != 0 || ::pipe2(q, O_CLOEXEC) != 0) throwErrno("create a pipe");
  UniqueFd reportRead(p[0]), reportWrite(p[1]), ctlRead(q[0]), ctlWrite(q[1]);
  std::fflush(nullptr);
  pid_t pid = static_cast<pid_t>(
      ::syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) throwErrno("create the pod's mount namespace (clone)");
  if (pid == 0) {
    reportRead.reset();
    ctlWrite.reset();
    sigFd.reset();
    childMain(plan, ctlRead.get(), reportWrite.get());
  }
  guard.setPid(pid);
  reportWrite.reset();
  ctlRead.reset();
  console.afterClone();
  debugLine(debug, "mount namespace created: pid " + std::to_string(pid));
  // The app's compiled seccomp filter linked into its bundle (ns's provideSeccomp), while the
  // child mounts: ferry-stage2 loads it instead of compiling.
  for (const std::string& line : provideSeccompFilters(podDir, rt)) debugLine(debug, line);

  // The pod's first process into the pod cgroup (it moves itself into init); then the pod
  // cgroup, empty, delegates its controllers and the app's limits apply.
  char c = 0;
  try {
    cgroups.pod().join(pid);
    if (::write(ctlWrite.get(), "g", 1) != 1) throwErrno("signal the pod's first process");
    if (::read(reportRead.get(), &c, 1) != 1) c = 0;
  } catch (const std::exception&) {
    // The child may have failed first (mounting, say): its reason is the one to report.
    ctlWrite.reset();
    if (::read(reportRead.get(), &c, 1) != 1 || c != 'E') throw;
  }
  if (c != 'M') {
    std::string rest = readReport(reportRead.get());
    if (c == 'E') throw Error(Errc::kIo, rest);
    throw Error(Errc::kIo, "the pod's first process died while joining its cgroups");
  }
  cgroups.delegate();
  if (::write(ctlWrite.get(), "g", 1) != 1) throwErrno("signal the pod's first process");
  std::string failure = readReport(reportRead.get());
  if (!failure.empty()) throw Error(Errc::kIo, failure[0] == 'E' ? failure.substr(1) : failure);
  // Nothing of a running pod outlives a reboot: no fsync (stage1/ns/run.cpp).
  writePidFile(podDir, pid);
  debugLine(debug, "pod init started (rootfs mounted): pid " + std::to_string(pid));

  UniqueFd mdsConnection;
  if (rt.mds) {
    UniqueFd netns = openFile("/proc/" + std::to_string(pid) + "/ns/net", O_RDONLY);
    UniqueFd listener = mds::listenInNetns(netns.get(), rt.mds->port);
    mdsConnection = mds::registerPod(rt.mds->socket,
                                     mds::registrationFromPodDir(podDir, rt.uuid, rt.mds->token),
                                     listener.get());
    debugLine(debug, "registered with the metadata service at " + quote(rt.mds->socket.string()));
  }
  notifyReadyWhenPodIs(podDir);

  int code = console.proxies()
                 ? console.waitForPod(pid, sigFd.get(),
                                      [&](const std::string& line) { debugLine(debug, line); })
                 : waitForInit(pid, sigFd.get(), debug);
  debugLine(debug, "the pod init exited: " + std::to_string(code));

  guard.release();
  closePod(podDir, cgroups.pod(), std::move(mdsConnection));
  return endPod(podDir, cgroups, code, debug);
  return code;
}

}  // namespace ferry::stage1
