// `ferry bench`: the same pod on several stage1s, what each costs and what each isolates.
//
// For each stage1 the pod runs N times as `ferry run --stage1-name=NAME …` (a child process of
// this ferry, from the same binary and data directory); each run gives the time from the spawn
// to the first byte the pod writes on stdout, the time to its exit, and the largest host memory
// (PSS, from /proc/PID/smaps_rollup) of the pod's supervision seen while it ran: the processes
// of the run's tree (the stage1's run, the pod init, systemd-nspawn, qemu…) that are not apps.
// An app is told apart through the ABI alone (stage1/ABI.md): a process in the PID namespace of
// the pod's `pid` whose PID there is one of status/<app>.json "pid", and its descendants.
// Then one more pod runs the probe (probe.c) instead of the first app, from a read-only volume,
// and its view is compared with the probe's view from the host: namespaces by inode, the
// kernel by boot ID, the rest as the probe reads it. Nothing is assumed from a stage1's name:
// the stage1s are the ones installed beside ferry unless the caller names others.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace ferry::bench {

struct Options {
  std::vector<std::string> stage1s;  // --stage1-name values; empty: every installed one
  int runs = 3;
  std::vector<std::string> globalArgs;  // for the child ferry: --dir, --insecure-options, …
  std::vector<std::string> podArgs;     // the pod flags before the first image
  std::vector<std::string> imageArgs;   // the first image and everything after it
  std::filesystem::path probe;          // ferry-bench-probe (empty: none found)
  std::string probeMissing;             // why there is none
};

struct Run {
  std::optional<double> firstOutputMs;  // none: the pod wrote nothing on stdout
  double totalMs = 0;
  std::optional<int64_t> supervisionKiB;  // none: no sample caught the pod running
  int supervisionProcesses = 0;
  int exitStatus = 0;
};

struct Stage1Result {
  std::string stage1;
  std::vector<Run> runs;
  std::string error;  // the stage1 could not run the pod (ferry's own message)
  std::optional<json::Json> probe;
  std::string probeError;  // why the probe did not run
};

// The stage1s installed beside ferry (Stage1::searchDirs), by name, sorted.
std::vector<std::string> installedStage1s();
// ferry-bench-probe beside ferry: <bin>/../libexec/ferry, then <bin>/../lib/ferry.
std::optional<std::filesystem::path> findProbe(std::string* looked);

// The probe's view from the host (the baseline); nullopt when it cannot run.
std::optional<json::Json> hostView(const Options& o, std::string* error);
Stage1Result benchStage1(const Options& o, const std::string& stage1);

// The checklist from a probe's view and the host's: name → measured value (text).
std::vector<std::pair<std::string, std::string>> checklist(const json::Json& pod,
                                                           const json::Json& host);
json::Json checklistJson(const json::Json& pod, const json::Json& host);

}  // namespace ferry::bench
