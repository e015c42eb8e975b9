// `ferry run`, `ferry prepare`, `ferry run-prepared`: prepare a pod (stage0/pod/prepare.hpp) and
// hand it to its stage1, whose exit status becomes ferry's.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "common/cgroup.hpp"
#include "common/fs.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/net/pod_network.hpp"
#include "stage0/pod/phase.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/store/store.hpp"
#include "stage0/systemd/pod_unit.hpp"
#include "stage1/common/systemd.hpp"

namespace ferry::cli {

namespace {

constexpr const char* kRunUsage =
    "ferry run [pod flags] IMAGE [app flags] [-- ARG...] [--- IMAGE [app flags] [-- ARG...]]...";
constexpr const char* kPrepareUsage =
    "ferry prepare [pod flags] IMAGE [app flags] [-- ARG...] [--- IMAGE ...]...";

constexpr const char* kStartUsage = "ferry start --unit[=NAME] [--user] [--slice=SLICE] UUID";

// --uuid-file-save: a pod whose UUID cannot be saved is removed again (nothing changed).
void saveUuid(Context& ctx, const std::optional<std::string>& path, pod::PreparedPod& prepared) {
  if (!path) return;
  try {
    writeFileAtomic(*path, prepared.pod.uuid + "\n");
  } catch (const std::exception& e) {
    prepared.lock.unlock();
    try {
      pod::Pods pods(ctx.global.dir);
      pod::Stage1Cleaner cleaner(ctx.global.debug);
      pod::remove(pods, prepared.pod, cleaner);
    } catch (const std::exception& again) {
      ctx.err << "ferry: " << describe(again, ctx.global.debug) << "\n";
    }
    throw Error(Errc::kIo, "--uuid-file-save: " + describe(e, false));
  }
}

// A pod on CNI networks: stage0 attaches it, runs the stage1 as its child (which dies with
// ferry: PR_SET_PDEATHSIG) and detaches it once the stage1 is over, while it still holds the
// pod's lock — a pod reads as exited only when its networks are gone. Signals sent to ferry
// are passed on (those of the terminal reach the stage1 directly, as its process group's).
[[noreturn]] void startNetworkedPod(Context& ctx, pod::Stage1& s1, pod::Pod& p,
                                    pod::PodLock& lock) {
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::sigaddset(&set, sig);
  }
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throwErrno("block signals");
  UniqueFd sigFd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sigFd) throwErrno("create a signalfd");
  net::setUp(p.path, p.uuid, ctx.global.debug);
  ctx.out.flush();
  ctx.err.flush();
  pid_t parent = ::getpid();
  bool activated = stage1::listenFdCount() > 0;
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    net::tearDown(p.path, p.uuid);
    throwErrno(e, "fork for the stage1");
  }
  if (child == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(254);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    // systemd's side (stage1/common/systemd.hpp): this process is the unit's main process, so
    // it says READY=1 (below); the descriptors systemd passed it are the stage1's now.
    ::unsetenv("NOTIFY_SOCKET");
    if (activated) ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    try {
      pod::execRun(s1, p, lock, ctx.global.debug);
    } catch (const std::exception& e) {
      std::cerr << "ferry: " << describe(e, ctx.global.debug) << std::endl;
    }
    ::_exit(254);
  }
  stage1::notifyReadyWhenPodIs(p.path);
  int code = 254;
  for (;;) {
    int status = 0;
    pid_t got = ::waitpid(child, &status, WNOHANG);
    if (got == child) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    signalfd_siginfo si{};
    if (::read(sigFd.get(), &si, sizeof si) != sizeof si) continue;
    int sig = static_cast<int>(si.ssi_signo);
    // A terminal's signal went to the whole process group, the stage1 included.
    if (sig != SIGCHLD && si.ssi_code != SI_KERNEL) ::kill(child, sig);
  }
  stage1::podEnded();  // (no atexit: this process ends with _exit)
  try {
    net::tearDown(p.path, p.uuid);
  } catch (const std::exception& e) {
    // gc tries again (the pod's namespace stays for it).
    std::cerr << "ferry: " << describe(e, ctx.global.debug) << "; 'ferry gc' tries again\n";
  }
  lock.unlock();
  std::cout.flush();
  ::_exit(code);
}

// With the systemd cgroup driver the pod's cgroups are a unit's: a scope made now unless this
// process runs in the pod's service already (stage0/systemd/pod_unit.hpp).
[[noreturn]] void startPod(Context& ctx, pod::Stage1& s1, pod::Pod& p, pod::PodLock& lock,
                           const SystemdFlags& sd) {
  if (sd.driver() == systemd::CgroupDriver::kSystemd) {
    systemd::enterPodUnit(p, s1.name(), sd.slice, ctx.global.debug);
  }
  if (net::hasNetworks(p.path)) startNetworkedPod(ctx, s1, p, lock);
  ctx.out.flush();
  ctx.err.flush();
  pod::execRun(s1, p, lock, ctx.global.debug);
}

void checkUnitFlags(const SystemdFlags& sd) {
  if (sd.user && !sd.unit) throw UsageError("--user-bus goes with --unit");
  if (sd.unit && sd.cgroupDriver == systemd::CgroupDriver::kCgroupfs) {
    throw UsageError("--unit: a pod in a unit has the unit's cgroups (--cgroup-driver=systemd)");
  }
}

// A prepared pod as a transient service; prints its unit and UUID.
int startService(Context& ctx, const pod::Pod& pd, const SystemdFlags& sd) {
  systemd::ServiceOptions o;
  if (sd.unit && !sd.unit->empty()) o.name = *sd.unit;
  o.slice = sd.slice;
  o.bus = sd.user ? systemd::BusKind::kUser : systemd::BusKind::kSystem;
  o.dataDir = ctx.global.dir;
  o.debug = ctx.global.debug;
  std::string unit = systemd::startPodService(pd, o);
  ctx.out << "unit=" << unit << "\nuuid=" << pd.uuid << "\n";
  return kExitOk;
}

}  // namespace

int runCommand(Context& ctx, const std::vector<std::string>& args) {
  RunFlags f;
  if (!parseRunFlags(ctx, args, kRunUsage,
                     "Run a pod of appc and OCI images; exits with the first failing app's "
                     "status.",
                     f)) {
    return kExitOk;
  }
  checkUnitFlags(f.systemd);
  pod::phase(ctx.global.debug, "flags parsed");
  if (f.systemd.unit) {
    pod::PreparedPod prepared = pod::prepare(f.request, ctx.global.dir, pod::Dir::kPrepared);
    printWarnings(ctx, prepared.report);
    saveUuid(ctx, f.uuidFileSave, prepared);
    prepared.stage1.checkCanRun();
    return startService(ctx, prepared.pod, f.systemd);
  }
  // The stage1's cgroup moves come in a few milliseconds; the store's index is opened while the
  // stage1 is chosen and the pod directory made.
  cgroup::startMoveWarmUp();
  store::Store::openAhead(ctx.global.dir);
  pod::phase(ctx.global.debug, "cgroup move warm-up started");
  pod::PreparedPod prepared = pod::prepare(f.request, ctx.global.dir, pod::Dir::kRun);
  printWarnings(ctx, prepared.report);
  saveUuid(ctx, f.uuidFileSave, prepared);
  try {
    startPod(ctx, prepared.stage1, prepared.pod, prepared.lock, f.systemd);
  } catch (...) {
    // The pod never ran (its networks could not be attached, say): nothing of it stays.
    try {
      pod::Pods pods(ctx.global.dir);
      if (pod::mountsBelow(prepared.pod.path).empty()) {
        pods.move(prepared.pod, pod::Dir::kGarbage);
        removeTree(prepared.pod.path);
      }
    } catch (const std::exception&) {
    }
    throw;
  }
}

int prepareCommand(Context& ctx, const std::vector<std::string>& args) {
  RunFlags f;
  if (!parseRunFlags(ctx, args, kPrepareUsage,
                     "Prepare a pod to start later with 'ferry run-prepared'; prints its UUID.",
                     f)) {
    return kExitOk;
  }
  pod::PreparedPod prepared = pod::prepare(f.request, ctx.global.dir, pod::Dir::kPrepared);
  printWarnings(ctx, prepared.report);
  saveUuid(ctx, f.uuidFileSave, prepared);
  ctx.out << prepared.pod.uuid << "\n";
  return kExitOk;
}

int runPreparedCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry run-prepared [flags] --uuid-file=FILE | UUID";
  OptionParser p(usage, "Run a pod made by 'ferry prepare'.");
  addGlobalOptions(p, ctx.global);
  SystemdFlags sd;
  addSystemdFlags(p, sd, false);
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(0, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  pos = uuidFile.podRefs(pos, usage);
  // Not in a unit's cgroup: on cgroup v2 a process there keeps the unit from delegating
  // (systemd::enterPodUnit moves this one into a leaf; the warm-up's would race with it).
  if (sd.driver() != systemd::CgroupDriver::kSystemd) cgroup::startMoveWarmUp();
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  if (pd.dir != pod::Dir::kPrepared) {
    throw Error(Errc::kInvalid, "cannot run pod " + pd.uuid + ": it is " +
                                    std::string(pod::stateName(pd.state())) + ", not prepared");
  }
  auto lock = pod::PodLock::tryExclusive(pd.path);
  if (!lock) throw Error(Errc::kInvalid, "cannot run pod " + pd.uuid + ": it is being started");
  pod::Stage1 s1 = pod::podStage1(pd);
  s1.checkCanRun();
  pods.move(pd, pod::Dir::kRun);
  startPod(ctx, s1, pd, *lock, sd);
}

int startCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(kStartUsage, "Start a prepared pod as a transient systemd service.",
                 "The service runs 'ferry run-prepared UUID' with Delegate=yes, KillMode=mixed,\n"
                 "the slice and the pod's memory, cpu and pids limits; ferry waits for its start\n"
                 "job and prints the unit's name and the pod's UUID. 'ferry stop' stops it.");
  addGlobalOptions(p, ctx.global);
  SystemdFlags sd;
  addSystemdFlags(p, sd, true);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (!sd.unit) {
    throw UsageError("start needs --unit ('ferry run-prepared' runs a pod in the foreground)");
  }
  checkUnitFlags(sd);
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  if (pd.dir != pod::Dir::kPrepared) {
    throw Error(Errc::kInvalid, "cannot start pod " + pd.uuid + ": it is " +
                                    std::string(pod::stateName(pd.state())) + ", not prepared");
  }
  pod::podStage1(pd).checkCanRun();
  return startService(ctx, pd, sd);
}

}  // namespace ferry::cli
