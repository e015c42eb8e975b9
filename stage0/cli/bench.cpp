// `ferry bench [--stage1 NAME,…] [--runs N] [pod flags] IMAGE [app flags]…`: the same pod on
// several stage1s (stage0/bench/bench.hpp), as a table or --format=json.
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "stage0/bench/bench.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/pod_flags.hpp"

namespace ferry::cli {

namespace {

constexpr const char* kUsage =
    "ferry bench [--stage1 NAME,...] [--runs N] [pod flags] IMAGE [app flags] [--- IMAGE ...]";

void help(std::ostream& out) {
  out << "Usage: " << kUsage << "\n\n"
      << "Run the same pod N times on each stage1 and compare: the time to the pod's first\n"
      << "output, its total run time, the host memory of its supervision (every process of the\n"
      << "run that is not an app), and an isolation checklist measured inside the pod by a\n"
      << "probe ferry injects.\n\n"
      << "  --stage1 NAME,...   the stage1s (--stage1-name values; default: every installed one)\n"
      << "  --runs N            runs per stage1 (default 3)\n"
      << "  --format=json       machine-readable output\n"
      << "The pod flags, images and app flags are those of 'ferry run'.\n";
}

std::vector<std::string> splitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto c = s.find(',');
    if (c != 0) out.emplace_back(s.substr(0, c));
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

struct Stats {
  double median = 0, min = 0, max = 0;
  int count = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int>(v.size());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

json::Json statsJson(const Stats& s) {
  if (s.count == 0) return nullptr;
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"samples", s.count}};
}

std::string statsText(const Stats& s, int precision) {
  if (s.count == 0) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(precision) << s.median << " (" << s.min << "-" << s.max
    << ")";
  return o.str();
}

struct Figures {
  Stats first, total, memory;
};
Figures figures(const bench::Stage1Result& r) {
  std::vector<double> first, total, memory;
  for (const auto& run : r.runs) {
    if (run.firstOutputMs) first.push_back(*run.firstOutputMs);
    total.push_back(run.totalMs);
    if (run.supervisionKiB) memory.push_back(static_cast<double>(*run.supervisionKiB));
  }
  return {stats(first), stats(total), stats(memory)};
}

}  // namespace

int benchCommand(Context& ctx, const std::vector<std::string>& args) {
  bench::Options o;
  size_t i = 0;
  auto valueOf = [&](std::string_view flag) -> std::optional<std::string> {
    const std::string& a = args[i];
    if (a == flag) {
      if (i + 1 >= args.size()) throw UsageError(std::string(flag) + ": needs a value");
      return args[++i];
    }
    if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
      return a.substr(flag.size() + 1);
    }
    return std::nullopt;
  };
  for (; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      help(ctx.out);
      return kExitOk;
    }
    if (auto v = valueOf("--stage1")) {
      o.stage1s = splitComma(*v);
      if (o.stage1s.empty()) throw UsageError("--stage1: no stage1 named");
    } else if (auto v = valueOf("--runs")) {
      char* end = nullptr;
      long n = std::strtol(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n < 1 || n > 1000) {
        throw UsageError("--runs: want a number from 1 to 1000, not " + quote(*v));
      }
      o.runs = static_cast<int>(n);
    } else if (auto v = valueOf("--format")) {
      if (*v != "text" && *v != "json") throw UsageError("--format: want text or json");
      ctx.global.format = *v;
    } else if (auto v = valueOf("--dir")) {
      ctx.global.dir = *v;
    } else {
      break;
    }
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(i), args.end());
  // Where the first image starts, as `ferry run` parses it.
  std::ostringstream sink;
  Context probeCtx{ctx.global, sink, sink};
  RunFlags f;
  if (!parseRunFlags(probeCtx, rest, kUsage, "", f)) {
    help(ctx.out);
    return kExitOk;
  }
  if (f.request.apps.empty())
    throw UsageError("ferry bench needs an image (a pod manifest cannot be probed)");
  auto firstImage = std::find(rest.begin(), rest.end(), f.request.apps.front().image);
  o.podArgs.assign(rest.begin(), firstImage);
  o.imageArgs.assign(firstImage, rest.end());
  ctx.global.dir = probeCtx.global.dir;  // paths.d's, unless --dir
  ctx.global.configDirs = probeCtx.global.configDirs;
  o.globalArgs = {"--dir", ctx.global.dir,
                  "--system-config=" + ctx.global.configDirs.system.string(),
                  "--local-config=" + ctx.global.configDirs.local.string(),
                  "--user-config=" + ctx.global.configDirs.user.string()};
  if (!ctx.global.insecureOptions.empty()) {
    o.globalArgs.push_back("--insecure-options=" + ctx.global.insecureOptions);
  }
  if (o.stage1s.empty()) o.stage1s = bench::installedStage1s();
  if (o.stage1s.empty()) throw Error(Errc::kNotFound, "no stage1 is installed beside ferry");
  std::string looked;
  if (auto p = bench::findProbe(&looked)) {
    o.probe = *p;
  } else {
    o.probeMissing = "no ferry-bench-probe beside ferry (looked in " + looked + ")";
  }

  std::string hostError;
  std::optional<json::Json> host = bench::hostView(o, &hostError);
  std::vector<bench::Stage1Result> results;
  for (const auto& s : o.stage1s) {
    if (!ctx.global.json()) ctx.err << "ferry bench: " << s << "…\n";
    results.push_back(bench::benchStage1(o, s));
  }

  if (ctx.global.json()) {
    json::Json j = {{"runs", o.runs}, {"images", o.imageArgs}, {"host", host ? *host : nullptr}};
    j["stage1s"] = json::Json::array();
    for (const auto& r : results) {
      Figures fg = figures(r);
      json::Json s = {{"name", r.stage1}};
      if (!r.error.empty()) s["error"] = r.error;
      json::Json runs = json::Json::array();
      for (const auto& run : r.runs) {
        json::Json rj = {{"exitStatus", run.exitStatus}, {"totalMs", run.totalMs}};
        rj["firstOutputMs"] = run.firstOutputMs ? json::Json(*run.firstOutputMs) : nullptr;
        rj["supervisionKiB"] = run.supervisionKiB ? json::Json(*run.supervisionKiB) : nullptr;
        rj["supervisionProcesses"] = run.supervisionProcesses;
        runs.push_back(rj);
      }
      s["runs"] = runs;
      s["firstOutputMs"] = statsJson(fg.first);
      s["totalMs"] = statsJson(fg.total);
      s["supervisionKiB"] = statsJson(fg.memory);
      if (r.probe && host) {
        s["isolation"] = bench::checklistJson(*r.probe, *host);
        s["probe"] = *r.probe;
      } else {
        s["isolation"] = {
            {"error", r.probe ? "the probe cannot run on the host: " + hostError : r.probeError}};
      }
      j["stage1s"].push_back(s);
    }
    ctx.out << json::print(j, true) << "\n";
    return kExitOk;
  }

  constexpr int kLabel = 28;
  int kCol = 12;  // the widest cell and two spaces: a long measured value never runs into the next
  auto row = [&](const std::string& label, const std::vector<std::string>& cells) {
    ctx.out << std::left << std::setw(kLabel) << label;
    for (size_t k = 0; k < cells.size(); ++k) {
      if (k + 1 < cells.size()) ctx.out << std::setw(kCol);
      ctx.out << cells[k];
    }
    ctx.out << "\n";
  };
  std::vector<std::string> names, first, total, memory;
  for (const auto& r : results) {
    Figures fg = figures(r);
    names.push_back(r.stage1);
    first.push_back(r.error.empty() ? statsText(fg.first, 1) : "cannot run");
    total.push_back(r.error.empty() ? statsText(fg.total, 1) : "-");
    memory.push_back(r.error.empty() ? statsText(fg.memory, 0) : "-");
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> lists;
  for (const auto& r : results) {
    if (r.probe && host) {
      lists.push_back(bench::checklist(*r.probe, *host));
    } else {
      lists.emplace_back();
    }
  }
  for (const auto* column : {&names, &first, &total, &memory}) {
    for (const auto& c : *column) kCol = std::max(kCol, static_cast<int>(c.size()) + 2);
  }
  for (const auto& l : lists) {
    for (const auto& [label, value] : l) kCol = std::max(kCol, static_cast<int>(value.size()) + 2);
  }
  ctx.out << o.runs << " run" << (o.runs == 1 ? "" : "s") << " per stage1; median (min-max)\n";
  row("stage1", names);
  row("first output, ms", first);
  row("total run, ms", total);
  row("supervision memory, KiB", memory);
  ctx.out << "isolation, measured in the pod:\n";
  size_t rows = 0;
  for (const auto& l : lists) rows = std::max(rows, l.size());
  for (size_t k = 0; k < rows; ++k) {
    std::string label;
    std::vector<std::string> cells;
    for (const auto& l : lists) {
      if (k < l.size()) {
        label = l[k].first;
        cells.push_back(l[k].second);
      } else {
        cells.push_back("-");
      }
    }
    row("  " + label, cells);
  }
  for (const auto& r : results) {
    if (!r.error.empty()) {
      ctx.out << r.stage1 << ": cannot run the pod: " << r.error << "\n";
    } else if (!r.probe)
      ctx.out << r.stage1 << ": no checklist: " << r.probeError << "\n";
    else if (!host)
      ctx.out << r.stage1 << ": no checklist: the probe cannot run on the host: " << hostError
              << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
