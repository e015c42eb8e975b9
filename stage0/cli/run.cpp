// `ferry run`, `ferry prepare`, `ferry run-prepared`: prepare a pod (stage0/pod/prepare.hpp) and
// hand it to its stage1, whose exit status becomes ferry's.
#include <iostream>

#include "common/cgroup.hpp"
#include "common/fs.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"

namespace ferry::cli {

namespace {

constexpr const char* kRunUsage =
    "ferry run [pod flags] IMAGE [app flags] [-- ARG...] [--- IMAGE [app flags] [-- ARG...]]...";
constexpr const char* kPrepareUsage =
    "ferry prepare [pod flags] IMAGE [app flags] [-- ARG...] [--- IMAGE ...]...";

[[noreturn]] void startPod(Context& ctx, pod::Stage1& s1, pod::Pod& p, pod::PodLock& lock) {
  ctx.out.flush();
  ctx.err.flush();
  pod::execRun(s1, p, lock, ctx.global.debug);
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
  cgroup::startMoveWarmUp();  // the stage1's cgroup moves come in a few milliseconds
  pod::PreparedPod prepared = pod::prepare(f.request, ctx.global.dir, pod::Dir::kRun);
  printWarnings(ctx, prepared.report);
  if (f.uuidFileSave) writeFileAtomic(*f.uuidFileSave, prepared.pod.uuid + "\n");
  startPod(ctx, prepared.stage1, prepared.pod, prepared.lock);
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
  if (f.uuidFileSave) writeFileAtomic(*f.uuidFileSave, prepared.pod.uuid + "\n");
  ctx.out << prepared.pod.uuid << "\n";
  return kExitOk;
}

int runPreparedCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry run-prepared [flags] UUID", "Run a pod made by 'ferry prepare'.");
  addGlobalOptions(p, ctx.global);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  cgroup::startMoveWarmUp();
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
  startPod(ctx, s1, pd, *lock);
}

}  // namespace ferry::cli
