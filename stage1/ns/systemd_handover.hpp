// What the run entrypoint passes between systemd and the pod (stage1/ABI.md §5 "systemd"):
//
// - socket activation: when systemd passed this process descriptors (LISTEN_PID is ours), the
//   pod init gets LISTEN_FDS and LISTEN_FDNAMES in its otherwise empty environment, and the
//   descriptors at 3, 4, … as they are; it hands each to its app (ferry-init, ferry-stage2);
// - readiness: with NOTIFY_SOCKET set, READY=1 goes to systemd from this process (the unit's
//   main process: a Type=notify unit's default NotifyAccess=main accepts it) once the pod
//   init made `ready` — every app started, every app that speaks sd_notify said READY=1. The
//   pod itself never gets the manager's socket: each notifying app has one of its own, which
//   the init serves.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ferry::stage1 {

// LISTEN_FDS=N and LISTEN_FDNAMES=… for the pod init; empty when nothing was passed to us.
std::vector<std::string> socketActivationEnv();

// Starts a thread that waits for podDir/ready and then tells NOTIFY_SOCKET READY=1; nothing
// when NOTIFY_SOCKET is unset.
void notifyReadyWhenPodIs(const std::filesystem::path& podDir);

}  // namespace ferry::stage1
