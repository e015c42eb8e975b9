// systemd-machined (org.freedesktop.machine1): a pod registers as machine `ferry-<uuid>`, so that
// `machinectl list|status|terminate` know it. The machine's unit is the leader's (the pod's
// service or scope: the leader lives in a cgroup below it); machined forgets the machine when
// that unit ends.
//
// The leader is the pod's init, the process in the pod's own namespaces (never a ferry process
// outside them: `machinectl shell|login|bind|copy-to` act in the leader's namespaces). It exists
// only once the stage1 has started it, so registerWhenInitRuns hands the registration to a
// detached process that waits for the pod's `pid` file (stage1/ABI.md §2).
#pragma once

#include <filesystem>
#include <string>

#include "stage0/systemd/bus.hpp"

namespace ferry::systemd {

struct MachineRegistration {
  std::string name;                        // "ferry-<uuid>"
  std::string uuid;                        // the pod's UUID (its 16 bytes are the machine ID)
  pid_t leader = 0;                        // the process the pod lives by
  std::string machineClass = "container";  // or "vm"
  std::filesystem::path rootDirectory;     // the leader's root as seen from the host; may be empty
};

// Registers the machine; false (nothing done) when machined does not run on that bus. Any other
// refusal throws.
bool registerMachine(Bus& bus, const MachineRegistration& m);

// Forks a process, detached from this one (which goes on to exec the pod's stage1), that waits
// until the pod's `pid` file exists, then registers the machine on the system bus with that
// pid as leader; it gives up when this process ends first or the pod has exited. The leader per
// flavor (`pid`, ABI §2): ns and nspawn: the pod's PID 1 (ferry-init in the pod's namespaces);
// fly: ferry-init too (its mount namespace is the pod's own, the others the host's, shared by
// design); kvm: QEMU, as class "vm" (the pod's init runs in the guest). machined not running
// is one debug line; any other failure one line on stderr, unless the pod is gone by then.
void registerWhenInitRuns(const std::filesystem::path& podDir, const std::string& uuid,
                          const std::string& flavor, bool debug);

}  // namespace ferry::systemd
