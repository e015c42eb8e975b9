// The cgroups of a pod whose apps run under ferry-init (stage1/ABI.md §5 "Cgroups", "Devices"),
// in the order every such flavor makes them: plan (every limit and device rule read, and refused
// if unsupported, before anything exists; cgroups.json names the cgroups before they exist, so
// that gc finds whatever a crash leaves), make (the pod cgroup with its device rules and limits,
// then init and app-<name> below it, all before any process joins), delegate (once the pod
// cgroup holds no process: its controllers to its children, each app's limits), remove.
#pragma once

#include <filesystem>
#include <vector>

#include "common/cgroup.hpp"
#include "common/cgroup_devices.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

class PodCgroups {
 public:
  // Reads podResources and each app's config.json, places the pod cgroup (Group::place) and
  // writes cgroups.json. Creates no cgroup.
  // Without `cpuset`, no pod cgroup in a v1 hierarchy of the cpuset controller alone (no stage1
  // applies cpuset limits: linux.resources.cpu.cpus and .mems are refused): the pod stays in the
  // stage1's own cpuset cgroup, and cgroups.json names none there. Only for a flavor whose pod
  // sees no hierarchy but those of cgroups.json (ns: the init's root mounts only those): where
  // the pod keeps the stage1's mounts (fly, nspawn), ferry-stage2 mounts each hierarchy fresh in
  // the app's cgroup namespace, and the cpuset one would show the stage1's cpuset cgroup,
  // typically that hierarchy's root, to the app.
  static PodCgroups plan(const std::filesystem::path& podDir, const RuntimeOptions& rt,
                         bool cpuset = true);

  // The pod cgroup, its device rules and limits, then init and one cgroup per app below it.
  void make();
  // The pod cgroup's controllers to its children and each app's limits; the pod cgroup must
  // hold no process by then (cgroup v2).
  void delegate() const;
  // Children first: each is then one rmdir per hierarchy. Throws on the first failure.
  void remove() const;

  const cgroup::Group& pod() const { return pod_; }
  const cgroup::Group& init() const { return init_; }
  const std::vector<cgroup::Group>& apps() const { return apps_; }
  const cgroup::DevicePolicy& devices() const { return devices_; }

 private:
  std::vector<std::string> appNames_;
  std::vector<AppCgroupConfig> appConfigs_;
  ResourcesConfig podResources_;
  cgroup::DevicePolicy devices_;
  cgroup::Group pod_;
  cgroup::Group init_;
  std::vector<cgroup::Group> apps_;
};

}  // namespace ferry::stage1
