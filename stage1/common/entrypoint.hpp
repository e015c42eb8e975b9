// The command line every flavor's entrypoints take (stage1/ABI.md §4) and the main around each:
//   run   --uuid U --lock-fd N [--debug]
//   stop  --uuid U [--force]
//   enter --uuid U --app A -- CMD…
//   gc    --uuid U [--debug]
// Each entrypoint returns its exit status; a failure prints one line on stderr and returns
// kOwnFailure (254), a usage error kUsageFailure (2).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stage1/common/abi.hpp"

namespace ferry::stage1 {

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

// Runs one entrypoint as a program: parses, calls, prints an error as
// "ferry-stage1 <entrypoint>: <message>" (the whole chain with --debug). enter first makes itself
// non-dumpable and, unless stage0 ran it from a read-only clone (ABI §4), re-executes from a
// sealed memfd (its process joins the pod's PID namespace).
int entrypointMain(int argc, char** argv, std::string_view entrypoint, int (*fn)(const Args&));

// This process's command line and environment as the kernel laid them out (entrypointMain
// records them first thing): the run entrypoint of ns rewrites them in the child that becomes
// the pod init without an exec (stage1/ns/run.cpp), so that /proc/1/cmdline and
// /proc/1/environ name nothing of the host.
struct Invocation {
  int argc = 0;
  char** argv = nullptr;
  char** envp = nullptr;
};
const Invocation& invocation();

// This entrypoint's executable at its path on the host. stage0 executes an entrypoint from a
// read-only clone of its directory (ABI §4), where /proc/self/exe names the file "/<name>"
// inside the clone; argv[0] then names it, and is used once it is the very file (same device
// and inode). Throws Error when neither names the running executable.
std::filesystem::path selfPath();

// The lock (abi.hpp): `fd` stays open across exec for the pod's life. Error{kUsage} when it is
// not an open descriptor.
void keepLockFd(int fd);

}  // namespace ferry::stage1
