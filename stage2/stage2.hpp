// ferry-stage2: turns one app's bundle (config.json + rootfs/) into the running app
// (stage1/ABI.md §5). run(): read config.json; with --event, the handler's argv from the
// dev.ferry.event.<event> annotation (absent: nothing to do); check and translate the process
// side (app_process.hpp: capabilities, rlimits, seccomp) before anything changes; the app's own
// mount namespace, mounts, pivot_root, sysctl, read-only and masked paths, read-only root
// (rootfs.hpp); then AppProcess::exec (user, groups, cwd, rlimits, capabilities, no_new_privs,
// seccomp last, execve).
//
// Two forms run it: the ferry-stage2 binary (main.cpp: the CLI of stage1/ABI.md §5, for a stage1
// that starts stage2 itself, and the fly stage1), and the pod init, whose forked child calls
// runReporting() with no execve in between (stage2/init/pod_init.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "stage1/common/keys.hpp"

namespace ferry::stage2 {

inline constexpr std::string_view kAppNameAnnotation = keys::kAppName;
inline constexpr std::string_view kEventAnnotationPrefix = keys::kEventPrefix;
// The exit status of stage2's own failure (ABI §5); 2 is a usage error of the binary's CLI.
inline constexpr int kOwnFailure = 254;

struct Options {
  std::optional<std::string> event;  // "pre-start" | "post-stop"
  std::filesystem::path bundle;
  // From the pod init's environment (ABI §5 "systemd"): the app's socket-activation descriptors
  // at 3, 4, …; never for an event handler.
  unsigned listenFds = 0;
  std::string listenFdNames;
};

// `ferry-stage2 [--event pre-start|post-stop] BUNDLE`; throws Error{kUsage}.
Options parseArgs(int argc, char** argv);

// Execs the app (never returns then), or returns 0 when an --event has no handler. Throws on
// any failure; `app` is set as soon as it is known (the annotation, else the bundle's name) so
// the caller can print `ferry-stage2: <app>: <what>: <why>`.
int run(const Options& options, std::string& app);

// run() with its failure reported as ferry-stage2 reports it: one line on stderr,
// `ferry-stage2: <app>: <what>: <why>`, and 254. What both forms call: the ferry-stage2 binary
// (main.cpp) and the pod init's child, which runs stage2 in-process (stage2/init/pod_init.hpp).
int runReporting(const Options& options) noexcept;

}  // namespace ferry::stage2
