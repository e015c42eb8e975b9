// ferry-init: the pod's PID 1 (stage1/ABI.md §5).
//
// PodInit reads runtime.json (the apps in start order, the stop grace, interactive) and, when a
// stage1 made cgroups, cgroups.json. For each app it runs what `ferry-stage2 --event pre-start
// BUNDLE` does when the app's config.json has a pre-start handler, then what `ferry-stage2
// BUNDLE` does, each in a child that moves itself into the app's cgroup first. That child runs
// stage2 itself (stage2::runReporting after a fork, no execve until the app's: a program start
// costs more than the fork here) when the init's own executable is sealed, as every stage1 but
// fly starts it (ABI §5); otherwise, and when runtime.json names a `stage2`, it execs
// ferry-stage2, stage2's standalone form. One poll loop serves everything: a signalfd
// (SIGCHLD: reap every process, orphans included; SIGTERM/SIGINT/SIGHUP: forward to the apps,
// SIGTERM also stops the pod), a timerfd (the stop grace), and the apps' output pipes
// (LogStream). status/<app>.json is rewritten at each change of an app; `ready` appears once every
// app was started. The pod ends when every app exited, or when one failed: the others get
// SIGTERM, then SIGKILL after the grace. Then each started app's post-stop handler runs, and the
// exit code is the first failing app's (128+signal when killed by a signal), 0 if none failed.
#pragma once

#include <string>

namespace ferry::init {

// Runs the pod whose directory is podDir; returns the pod's exit code (254: the init's own
// failure, printed on stderr).
int runPod(const std::string& podDir) noexcept;

}  // namespace ferry::init
