// The ns stage1's entrypoints (stage1/ABI.md §4), each a function behind a thin main:
//   run   — cgroups, namespaces, app rootfs mounts, the pod init as PID 1, pid/exit files;
//   stop  — SIGTERM to the pod init (its grace period), or --force: kill the pod's cgroups;
//   enter — a command in an app's namespaces, root, environment and user;
//   gc    — undo what outlives the pod's processes (processes, cgroups, mounts); idempotent.
// Each returns its exit status; failures print one line on stderr and return 254.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::stage1 {

inline constexpr int kOwnFailure = 254;
inline constexpr int kUsageFailure = 2;

struct Args {
  std::string uuid;
  int lockFd = -1;
  bool debug = false;
  bool force = false;
  std::string app;
  std::vector<std::string> command;
};

// Parses `--uuid U [--lock-fd N] [--debug] [--force] [--app A] [-- CMD…]`; which options an
// entrypoint accepts is its own check. Throws Error{kUsage}.
Args parseArgs(int argc, char** argv, std::string_view entrypoint);

int runEntrypoint(const Args& args);
int stopEntrypoint(const Args& args);
int enterEntrypoint(const Args& args);
int gcEntrypoint(const Args& args);

// Runs one entrypoint as a program: parses, calls, prints an error as
// "ferry-stage1 <entrypoint>: <message>" (the whole chain with --debug).
int entrypointMain(int argc, char** argv, std::string_view entrypoint, int (*fn)(const Args&));

}  // namespace ferry::stage1
