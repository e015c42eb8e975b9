// The limits and device rules a stage1 applies to a pod's cgroups (stage1/ABI.md §5 "Cgroups",
// "Devices"): runtime.json's podResources and each app's config.json linux.resources and
// linux.devices.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "common/device_rules.hpp"
#include "common/json.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

// OCI linux.resources as a stage1 takes it: the limits (cgroup::Group::apply) and the
// device rules, in order (a cgroup::DevicePolicy).
struct ResourcesConfig {
  cgroup::Resources limits;
  std::vector<cgroup::DeviceRule> deviceRules;
};

// OCI linux.resources → what a stage1 applies. `path` names the JSON for errors. A limit it
// cannot apply (blockIO, memory.swap, …) is an Error{kUnsupported} naming its path.
ResourcesConfig resourcesFromJson(const json::Json& j, const std::string& path);

// An app's config.json (apps/<app>/config.json in the pod directory), parsed once per process:
// stage0 wrote it before the stage1 runs and nothing changes it while the stage1 reads it, so the
// run's several readers (cgroups, the init's private root, the seccomp cache) share one parse
// (~0.1 ms for a 9 kB document with its seccomp rules). Errors name the file; a document that
// does not parse is not kept (the next call throws again).
const json::Json& appConfigJson(const std::filesystem::path& podDir, const std::string& app);

// What the stage1 takes from one app's config.json: linux.resources' limits, and the devices the
// app may use: its linux.resources.devices rules in order, then the default allowlist and every
// node of linux.devices (runc's order: a rule cannot take a default device away).
struct AppCgroupConfig {
  cgroup::Resources limits;
  cgroup::DevicePolicy devices;
};
AppCgroupConfig appCgroupConfig(const std::filesystem::path& podDir, const std::string& app);

// The pod's device policy: the union of every app's and of podResources' rules (the pod cgroup
// holds every process of the pod in the v1 devices hierarchy, and its program is what the app
// cgroups below it inherit).
cgroup::DevicePolicy podDevicePolicy(const ResourcesConfig& podResources,
                                     const std::vector<AppCgroupConfig>& apps);

// runtime.json's podResources (none: nothing); errors name the file.
ResourcesConfig podResourcesOf(const std::filesystem::path& podDir, const RuntimeOptions& rt);

}  // namespace ferry::stage1
