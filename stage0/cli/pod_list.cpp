// `ferry list` and `ferry status`: what the pod directories say (stage0/pod/info.hpp).
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "common/printable.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"
#include "stage0/cli/table.hpp"
#include "stage0/pod/info.hpp"

namespace ferry::cli {

namespace {

std::string timeText(const std::optional<int64_t>& ns) {
  if (!ns) return "-";
  std::time_t t = static_cast<std::time_t>(*ns / 1000000000);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string appResult(const pod::PodAppInfo& a) {
  if (!a.status) return "-";
  if (a.status->signal) return "signal:" + *a.status->signal;
  if (a.status->exitCode) return std::to_string(*a.status->exitCode);
  return a.status->state.empty() ? "-" : a.status->state;
}

// The EXIT column: an app's exit status once it has one (signal:NAME when a signal ended it).
std::string appExit(const pod::PodAppInfo& a) {
  if (!a.status) return "-";
  if (a.status->signal) return "signal:" + *a.status->signal;
  return a.status->exitCode ? std::to_string(*a.status->exitCode) : "-";
}

std::string exitText(const std::optional<int64_t>& code) {
  return code ? std::to_string(*code) : "-";
}

bool finished(pod::State s) {
  return s == pod::State::kExited || s == pod::State::kExitedGarbage || s == pod::State::kGarbage ||
         s == pod::State::kAbortedPrepare;
}

}  // namespace

int listCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry list [flags]", "List the pods and their states.");
  addGlobalOptions(p, ctx.global);
  bool noLegend = false, full = false;
  p.flag("no-legend", "print no header line", &noLegend);
  p.flag("full", "print full UUIDs, and an IMAGE ID column", &full);
  bool quiet = false;
  p.flag("quiet", "print only the pods' UUIDs (full), one a line", &quiet);
  p.flag("q", "the same as --quiet", &quiet);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  std::vector<pod::Pod> all;
  if (podsExist(ctx.global)) all = pod::Pods(ctx.global.dir).list();
  std::vector<pod::PodInfo> infos;
  for (const auto& pd : all) {
    try {
      infos.push_back(pod::inspect(pd));
    } catch (const std::exception& e) {
      ctx.err << "ferry: warning: pod " << pd.uuid << ": " << describe(e, ctx.global.debug) << "\n";
    }
  }
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) {
    return a.createdAt.value_or(0) != b.createdAt.value_or(0)
               ? a.createdAt.value_or(0) < b.createdAt.value_or(0)
               : a.uuid < b.uuid;
  });
  if (ctx.global.json()) {
    json::Json out = json::Json::array();
    for (const auto& i : infos) out.push_back(i.toJson());
    ctx.out << json::print(out, true) << "\n";
    return kExitOk;
  }
  if (quiet) {
    for (const auto& i : infos) ctx.out << i.uuid << "\n";
    return kExitOk;
  }
  std::vector<std::string> header = {"UUID",    "APP",     "IMAGE NAME", "STATE",   "EXIT",
                                     "CREATED", "STARTED", "UNIT",       "NETWORKS"};
  if (full) header.push_back("IMAGE ID");
  Table table(std::move(header));
  for (const auto& i : infos) {
    std::string uuid = full ? i.uuid : i.uuid.substr(0, 8);
    std::string state(pod::stateName(i.state));
    std::vector<std::string> common = {timeText(i.createdAt), timeText(i.startedAt),
                                       i.unit.value_or("-"), i.networksText()};
    if (i.apps.empty()) {
      std::vector<std::string> row = {uuid, "-", "-", state, exitText(i.exitCode)};
      row.insert(row.end(), common.begin(), common.end());
      table.add(std::move(row));
    }
    for (const auto& a : i.apps) {
      std::vector<std::string> row = {uuid, a.name, a.imageName.empty() ? a.imageId : a.imageName,
                                      state, appExit(a)};
      row.insert(row.end(), common.begin(), common.end());
      if (full) row.push_back(a.imageId);
      table.add(std::move(row));
    }
  }
  table.print(ctx.out, !noLegend);
  return kExitOk;
}

int statusCommand(Context& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "ferry status [--wait[=DURATION]] [--wait-ready[=DURATION]] --uuid-file=FILE | UUID";
  OptionParser p(usage, "Print a pod's state, pid, times and each app's exit status.",
                 "--wait waits until the pod has exited (for at most DURATION: 30s, 5m, …);\n"
                 "exit status 254 when it has not by then. --wait-ready waits until the pod is\n"
                 "ready: every app started, and every app whose image has the annotation\n"
                 "appc.io/executor/supports-systemd-notify said READY=1 (sd_notify); 254 when\n"
                 "the pod ended first or the time is over.");
  addGlobalOptions(p, ctx.global);
  std::optional<std::chrono::milliseconds> waitReady;
  bool waitReadyForever = false;
  p.optionalValue("wait-ready", "DURATION", "wait until the pod is ready", [&](std::string_view v) {
    if (v.empty() || v == "forever") {
      waitReadyForever = true;
    } else {
      waitReady = parseDuration(v, "wait-ready");
    }
  });
  std::optional<std::chrono::milliseconds> wait;
  bool waitForever = false;
  p.optionalValue("wait", "DURATION", "wait until the pod exited", [&](std::string_view v) {
    if (v.empty() || v == "forever") {
      waitForever = true;
    } else {
      wait = parseDuration(v, "wait");
    }
  });
  UuidFile uuidFile;
  uuidFile.declare(p);
  p.positionals(0, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  std::string ref = uuidFile.podRefs(pos, usage)[0];
  if (!podsExist(ctx.global)) throwNoSuch(ctx.global, "pod", ref);
  pod::Pods pods(ctx.global.dir);
  pod::Pod pd = pods.require(ref);
  if (wait || waitForever) {
    auto deadline = std::chrono::steady_clock::now() + wait.value_or(std::chrono::milliseconds(0));
    while (true) {
      auto again = pods.find(pd.uuid);
      if (!again) break;  // removed meanwhile: it exited
      pd = *again;
      pod::State s = pd.state();
      if (finished(s) || (s == pod::State::kPrepared && !waitForever && !wait)) break;
      if (!waitForever && std::chrono::steady_clock::now() >= deadline) {
        throw Error(Errc::kLimit, "pod " + pd.uuid + " is still " + std::string(pod::stateName(s)) +
                                      " after --wait");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (waitReady || waitReadyForever) {
    auto deadline =
        std::chrono::steady_clock::now() + waitReady.value_or(std::chrono::milliseconds(0));
    std::error_code ec;
    while (true) {
      auto again = pods.find(pd.uuid);
      if (!again)
        throw Error(Errc::kInvalid, "pod " + pd.uuid + " was removed before it was ready");
      pd = *again;
      pod::State s = pd.state();
      if (s == pod::State::kRunning && std::filesystem::exists(pd.path / "ready", ec)) break;
      if (finished(s)) {
        throw Error(Errc::kInvalid, "pod " + pd.uuid + " is " + std::string(pod::stateName(s)) +
                                        ": it ended before it was ready");
      }
      if (!waitReadyForever && std::chrono::steady_clock::now() >= deadline) {
        throw Error(Errc::kLimit, "pod " + pd.uuid + " is not ready after --wait-ready (it is " +
                                      std::string(pod::stateName(s)) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  pod::PodInfo i = pod::inspect(pd);
  if (ctx.global.json()) {
    ctx.out << json::print(i.toJson(), true) << "\n";
    return kExitOk;
  }
  // KEY=VALUE lines; every value printable(): app statuses are the pod's (a kvm guest writes
  // status/), and a newline or an escape sequence there must not forge a line or reach the
  // operator's terminal.
  auto line = [&ctx](std::string_view key, std::string_view value) {
    ctx.out << key << "=" << printable(value) << "\n";
  };
  line("state", pod::stateName(i.state));
  line("created", timeText(i.createdAt));
  line("started", timeText(i.startedAt));
  if (i.finishedAt) line("finished", timeText(i.finishedAt));
  if (i.pid) line("pid", std::to_string(*i.pid));
  if (i.unit) line("unit", *i.unit);
  line("networks", i.networksText(true));
  line("exited", finished(i.state) ? "true" : "false");
  if (i.exitCode) line("exit", std::to_string(*i.exitCode));
  for (const auto& a : i.apps) {
    line("app-" + a.name, appResult(a));
    if (a.status && a.status->oomKilled) line("app-" + a.name + "-oom", "true");
  }
  return kExitOk;
}

}  // namespace ferry::cli
