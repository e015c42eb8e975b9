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
  cgroup::Resources podResources;
  std::vector<RuntimeApp> apps;
};

// Reads <podDir>/runtime.json. Unknown fields are ignored (a newer stage0); a missing or invalid
// required field is an Error{kInvalid} naming it.
RuntimeOptions readRuntime(const std::filesystem::path& podDir);

// OCI linux.resources → the limits the ns stage1 applies. `path` names the JSON for errors. A
// limit it cannot apply (blockIO, memory.swap, …) is an Error{kUnsupported} naming its path;
// `devices` is accepted and left to the device nodes stage2 creates.
cgroup::Resources resourcesFromJson(const json::Json& j, const std::string& path);

// apps/<app>/config.json's linux.resources (none: no limits).
cgroup::Resources appResources(const std::filesystem::path& podDir, const std::string& app);

// cgroups.json: {"<hierarchy mount>": "<pod cgroup directory>", …}.
void writeCgroupsJson(const std::filesystem::path& podDir, const cgroup::Group& pod);
// nullopt when the file does not exist.
std::optional<cgroup::Group> readCgroupsJson(const std::filesystem::path& podDir);

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
