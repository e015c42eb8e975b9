// `ferry stop`, `ferry rm`, `ferry gc`, `ferry enter`: through the pod's stage1 entrypoints.
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/pod/info.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage0/systemd/pod_unit.hpp"

namespace ferry::cli {

int stopCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry stop [--force] --uuid-file=FILE | UUID...";
  OptionParser p(usage, "Stop running pods.",
                 "Each app gets its stop signal (SIGTERM unless its image or run's --stop-signal\n"
                 "said otherwise), then SIGKILL after the grace period (run's --stop-timeout,\n"
                 "10s). --force sends SIGKILL at once. A pod that runs as a systemd service\n"
                 "(run --unit, start --unit) is stopped through its unit.");
  addGlobalOptions(p, ctx.global);
  bool force = false;
  p.flag("force", "kill every process of the pod now", &force);
  UuidFile uuidFile;
  uuidFile.declare(p);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  auto refs = uuidFile.podRefs(pos, usage);
  pod::Pods pods(ctx.global.dir);
  int rc = kExitOk;
  for (const auto& ref : refs) {
    try {
      pod::Pod pd = pods.require(ref);
      pod::State s = pd.state();
      if (s != pod::State::kRunning) {
        throw Error(Errc::kInvalid,
                    "cannot stop pod " + pd.uuid + ": it is " + std::string(pod::stateName(s)));
      }
      if (systemd::stopPodService(pd, force)) {
        ctx.out << pd.uuid << "\n";
        continue;
      }
      std::vector<std::string> a = {"--uuid", pd.uuid};
      if (force) a.push_back("--force");
      int status = pod::runEntrypoint(pod::podStage1(pd), "stop", pd, a);
      if (status != 0) {
        throw Error(Errc::kIo, "cannot stop pod " + pd.uuid + ": the stage1 stop entrypoint " +
                                   "exited with status " + std::to_string(status));
      }
      ctx.out << pd.uuid << "\n";
    } catch (const Error& e) {
      ctx.err << "ferry: " << describe(e, ctx.global.debug) << "\n";
      rc = kExitError;
    }
  }
  return rc;
}

int rmCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry rm --uuid-file=FILE | UUID...";
  OptionParser p(usage, "Remove exited or prepared pods now.");
  addGlobalOptions(p, ctx.global);
  UuidFile uuidFile;
  uuidFile.declare(p);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  auto refs = uuidFile.podRefs(pos, usage);
  pod::Pods pods(ctx.global.dir);
  pod::Stage1Cleaner cleaner(ctx.global.debug);
  int rc = kExitOk;
  for (const auto& ref : refs) {
    try {
      pod::Pod pd = pods.require(ref);
      pod::remove(pods, pd, cleaner);
      ctx.out << pd.uuid << "\n";
    } catch (const std::exception& e) {
      ctx.err << "ferry: " << describe(e, ctx.global.debug) << "\n";
      rc = kExitError;
    }
  }
  return rc;
}

int gcCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(
      "ferry gc [--grace-period=DURATION] [--expire-prepared=DURATION] [--mark-only]",
      "Collect exited pods (after a grace period) and stale prepared ones.",
      "Exited pods are marked first and deleted on a later gc once the grace period\n"
      "(default 30m) is over; the stage1's gc entrypoint cleans what each left.\n"
      "--mark-only marks exited pods (their exit time) and deletes nothing, as a unit's\n"
      "ExecStopPost=ferry gc --mark-only does.");
  addGlobalOptions(p, ctx.global);
  pod::GcOptions o;
  p.value("grace-period", "DURATION", "how long exited pods are kept (30m)",
          [&](std::string_view v) {
            o.gracePeriod =
                std::chrono::duration_cast<std::chrono::seconds>(parseDuration(v, "grace-period"));
          });
  p.value("expire-prepared", "DURATION", "how long prepared pods are kept (24h)",
          [&](std::string_view v) {
            o.expirePrepared = std::chrono::duration_cast<std::chrono::seconds>(
                parseDuration(v, "expire-prepared"));
          });
  p.flag("mark-only", "only mark exited pods as garbage; delete nothing", &o.markOnly);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  pod::Pods pods(ctx.global.dir);
  pod::Stage1Cleaner cleaner(ctx.global.debug);
  pod::GcResult r = pod::gc(pods, cleaner, o);
  if (ctx.global.json()) {
    ctx.out << json::print({{"marked", r.marked}, {"removed", r.removed}, {"problems", r.problems}},
                           true)
            << "\n";
  } else {
    for (const auto& u : r.marked) ctx.out << "Moved pod " << u << " to garbage\n";
    for (const auto& u : r.removed) ctx.out << "Removed pod " << u << "\n";
  }
  for (const auto& problem : r.problems) ctx.err << "ferry: gc: " << problem << "\n";
  return r.problems.empty() ? kExitOk : kExitError;
}

int enterCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage = "ferry enter [--app NAME] --uuid-file=FILE | UUID [CMD [ARG...]]";
  OptionParser p(usage, "Run a command (default /bin/sh) inside a running pod's app.");
  addGlobalOptions(p, ctx.global);
  std::string app;
  p.value("app", "NAME", "the app to enter (needed when the pod has several)", &app);
  UuidFile uuidFile;
  uuidFile.declare(p);
  // Flags come before UUID (or --uuid-file); everything after UUID is the command.
  std::vector<std::string> pos, cmd;
  size_t i = 0;
  for (; i < args.size() && p.parseFlag(args, i); ++i) {
    if (p.helpRequested()) {
      ctx.out << p.helpText();
      return kExitOk;
    }
  }
  p.finish();
  if (i < args.size() && args[i] == "--") ++i;
  if (!uuidFile.path && i < args.size()) pos.push_back(args[i++]);
  cmd.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());
  for (const auto& w : pos) OptionParser::checkPositional(w);
  for (const auto& w : cmd) OptionParser::checkPositional(w);
  pos = uuidFile.podRefs(pos, usage);
  if (cmd.empty()) cmd = {"/bin/sh"};
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(pos[0]);
  pod::State s = pd.state();
  if (s != pod::State::kRunning) {
    throw Error(Errc::kInvalid,
                "cannot enter pod " + pd.uuid + ": it is " + std::string(pod::stateName(s)));
  }
  pod::PodInfo info = pod::inspect(pd);
  if (app.empty()) {
    if (info.apps.size() != 1) {
      std::string names;
      for (const auto& a : info.apps) names += (names.empty() ? "" : ", ") + a.name;
      throw UsageError("pod " + pd.uuid + " has several apps (" + names + "): choose with --app");
    }
    app = info.apps[0].name;
  } else if (std::none_of(info.apps.begin(), info.apps.end(),
                          [&](const auto& a) { return a.name == app; })) {
    throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no app " + quote(app));
  }
  std::vector<std::string> a = {"--uuid", pd.uuid, "--app", app, "--"};
  a.insert(a.end(), cmd.begin(), cmd.end());
  pod::Stage1 s1 = pod::podStage1(pd);
  ctx.out.flush();
  ctx.err.flush();
  pod::execEntrypoint(s1, "enter", pd, a);
}

}  // namespace ferry::cli
