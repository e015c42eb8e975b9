// systemd-machined (org.freedesktop.machine1): a pod registers as machine `ferry-<uuid>`, so that
// `machinectl list|status|terminate` know it. The machine's unit is the leader's (the pod's
// service or scope); machined forgets the machine when that unit ends.
#pragma once

#include <filesystem>
#include <string>

#include "stage0/systemd/bus.hpp"

namespace ferry::systemd {

struct MachineRegistration {
  std::string name;  // "ferry-<uuid>"
  std::string uuid;  // the pod's UUID (its 16 bytes are the machine ID)
  pid_t leader = 0;  // the process the pod lives by
  std::filesystem::path rootDirectory;
};

// Registers the machine; false (nothing done) when machined does not run on that bus. Any other
// refusal throws.
bool registerMachine(Bus& bus, const MachineRegistration& m);

}  // namespace ferry::systemd
