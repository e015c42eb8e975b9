// The nspawn stage1 (stage1/ABI.md §4): the pod's container is made by the real systemd-nspawn,
// machine `ferry-<uuid>`, with ferry's pod init as its payload (PID 1).
//   run  — cgroups as the ns stage1 makes them, the apps' rootfs mounted in a mount namespace of
//          its own, then systemd-nspawn (--register=no where systemd is not PID 1, --keep-unit)
//          on a read-only root holding only what the init needs at its host paths;
//   stop — SIGTERM to the pod init, or --force: SIGKILL to every process of the pod but
//          systemd-nspawn (never SIGKILLed: its container would outlive it), which then ends;
//   gc   — SIGTERM to a systemd-nspawn still there and a wait for it, then what outlives the
//          pod: processes, cgroups (nspawn's payload/supervisor below the init's), mounts, and
//          what nspawn leaves in /run/systemd/nspawn.
//   enter — the ns stage1's: the pod's namespaces are the same kinds.
#pragma once

#include "stage1/common/entrypoint.hpp"

namespace ferry::stage1 {

int nspawnRunEntrypoint(const Args& args);
int nspawnStopEntrypoint(const Args& args);
int nspawnGcEntrypoint(const Args& args);

// The machine name of a pod.
std::string nspawnMachineName(const std::string& uuid);
// What systemd-nspawn leaves behind on the host for a machine (its propagation directory),
// removed; nothing when it is gone already.
void removeNspawnLeftovers(const std::string& uuid);
// Processes of the host's PID namespace named systemd-nspawn among `pids`.
std::vector<pid_t> nspawnProcesses(const std::vector<pid_t>& pids);

}  // namespace ferry::stage1
