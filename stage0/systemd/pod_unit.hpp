// A pod under systemd: as a transient service (`run --unit`, `start --unit`), or in a scope of
// its own when ferry itself runs it with the systemd cgroup driver; registered with machined.
//
// The pod directory's `unit` file is stage0's record of the pod's unit ({"name", "bus",
// "kind"}), written before the unit exists so that list, status and stop find it. With the
// systemd driver the pod's cgroups are the unit's: its stage1 runs in a unit that delegates its
// cgroup (Delegate=yes), and makes the pod's cgroups below it as anywhere else.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "stage0/pod/pods.hpp"
#include "stage0/systemd/bus.hpp"

namespace ferry::systemd {

enum class CgroupDriver { kSystemd, kCgroupfs };

// --cgroup-driver=systemd|cgroupfs; throws Error{kUsage} for anything else.
CgroupDriver parseCgroupDriver(std::string_view text);
// systemd where PID 1 is systemd, else cgroupfs.
CgroupDriver defaultCgroupDriver();

struct PodUnit {
  std::string name;
  BusKind bus = BusKind::kSystem;
  bool service = true;  // false: a scope
};

std::optional<PodUnit> readPodUnit(const std::filesystem::path& podDir);

struct ServiceOptions {
  std::optional<std::string> name;  // default ferry-<uuid>.service
  std::string slice = "machine.slice";
  BusKind bus = BusKind::kSystem;
  std::filesystem::path dataDir;
  bool debug = false;
};

// Starts a prepared pod as a transient service whose main process is `ferry run-prepared` (then
// the pod's stage1): Delegate=yes, KillMode=mixed, the slice, the pod's limits (MemoryMax,
// CPUQuota, TasksMax), a stop timeout beyond the pod's grace. Waits for the start job; returns
// the unit's name.
std::string startPodService(const pod::Pod& pod, const ServiceOptions& o);

// Before ferry execs the stage1 of a pod with the systemd driver: unless this process already
// runs in the pod's unit (a service of startPodService), moves it into a new scope
// ferry-<uuid>.scope (Delegate=yes, the slice, the pod's limits); then has the pod registered
// with machined once its init runs (registerWhenInitRuns: the leader is the pod's init, or
// QEMU for kvm; `flavor` is the stage1's name). One debug line when machined does not run.
void enterPodUnit(const pod::Pod& pod, const std::string& flavor, const std::string& slice,
                  bool debug);

// Stops the pod's service: true when the pod has one (stopped, or sent SIGKILL when force),
// false when the pod has none (the stage1's stop entrypoint does it then).
bool stopPodService(const pod::Pod& pod, bool force);

}  // namespace ferry::systemd
