// The ns stage1's view of a pod directory (stage1/ABI.md §1–§2): what it reads (runtime.json,
// each app's linux.resources) and what it writes for itself and for gc (cgroups.json, status
// fix-ups after a pod init that could not write them, pid, exit).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "common/device_rules.hpp"
#include "common/json.hpp"

namespace ferry::stage1 {

struct RuntimeApp {
  std::string name;
  std::string image;
  std::filesystem::path tree;  // the rendered rootfs: the overlay's lower layer
  bool readOnlyRootfs = false;
};

struct MdsOptions {
  std::filesystem::path socket;
  std::string token;
  uint16_t port = 0;
};

// OCI linux.resources as the ns stage1 takes it: the limits (cgroup::Group::apply) and the
// device rules, in order (a cgroup::DevicePolicy).
struct ResourcesConfig {
  cgroup::Resources limits;
  std::vector<cgroup::DeviceRule> deviceRules;
};

// runtime.json's privateUsers (ABI §2): the pod's user namespace maps its IDs 0…count-1 to
// host uids uid… and host gids gid….
struct PrivateUsers {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t count = 0;
};

struct RuntimeOptions {
  std::string uuid;
  std::string hostname;
  std::string net = "default";
  bool interactive = false;
  bool noOverlay = false;  // copy each app's tree instead of an overlay over it
  bool debug = false;
  int64_t stopTimeoutSeconds = 10;
  std::string stage2;
  std::string init;
  std::optional<MdsOptions> mds;
  ResourcesConfig podResources;
  std::optional<PrivateUsers> privateUsers;
  std::vector<RuntimeApp> apps;
};

// Reads <podDir>/runtime.json. Unknown fields are ignored (a newer stage0); a missing or invalid
// required field is an Error{kInvalid} naming it.
RuntimeOptions readRuntime(const std::filesystem::path& podDir);

// OCI linux.resources → what the ns stage1 applies. `path` names the JSON for errors. A limit it
// cannot apply (blockIO, memory.swap, …) is an Error{kUnsupported} naming its path.
ResourcesConfig resourcesFromJson(const json::Json& j, const std::string& path);

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
cgroup::DevicePolicy podDevicePolicy(const RuntimeOptions& rt,
                                     const std::vector<AppCgroupConfig>& apps);

// cgroups.json: {"<hierarchy mount>": "<pod cgroup directory>", …}.
void writeCgroupsJson(const std::filesystem::path& podDir, const cgroup::Group& pod);
// nullopt when the file does not exist. Every entry is checked (cgroup::Group::fromRecord):
// normalised, strictly below a cgroup mount point, and named podCgroupName(uuid); else an
// Error{kSecurity} naming the file and the entry.
std::optional<cgroup::Group> readCgroupsJson(const std::filesystem::path& podDir,
                                             const std::string& uuid);

// The pod cgroup's name under the caller's own cgroup.
std::string podCgroupName(const std::string& uuid);

// After the pod init died without finishing its bookkeeping (SIGKILL, stop --force, kill -9 of
// stage1): every status/<app>.json still "running" becomes "exited", killed by SIGKILL, with the
// app cgroup's OOM flag. Apps never started stay "created".
void finalizeStatus(const std::filesystem::path& podDir, const std::optional<cgroup::Group>& pod);

// Reads `pid`; nullopt when missing.
std::optional<pid_t> readPidFile(const std::filesystem::path& podDir);

// The canonical pod directory: the current working directory (stage0 chdirs there).
std::filesystem::path currentPodDir();

}  // namespace ferry::stage1
