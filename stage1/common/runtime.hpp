// runtime.json (stage1/ABI.md §2): one definition, written by stage0 and read by stage0 (list,
// status, image gc), every stage1 flavor and the tests. The pod init reads the few fields it needs
// with its own small parser (stage2/init/json_lite.hpp), by the names defined here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace ferry::stage1 {

// The field names of runtime.json.
namespace runtime_field {
inline constexpr std::string_view kVersion = "ferryRuntimeVersion";
inline constexpr std::string_view kUuid = "uuid";
inline constexpr std::string_view kHostname = "hostname";
inline constexpr std::string_view kNet = "net";
inline constexpr std::string_view kNetns = "netns";
inline constexpr std::string_view kIpc = "ipc";
inline constexpr std::string_view kInteractive = "interactive";
inline constexpr std::string_view kNoOverlay = "noOverlay";
inline constexpr std::string_view kStopTimeoutSeconds = "stopTimeoutSeconds";
inline constexpr std::string_view kDebug = "debug";
inline constexpr std::string_view kLogDriver = "logDriver";
inline constexpr std::string_view kStage1Options = "stage1Options";
inline constexpr std::string_view kStage2 = "stage2";
inline constexpr std::string_view kInit = "init";
inline constexpr std::string_view kMds = "mds";
inline constexpr std::string_view kPodResources = "podResources";
inline constexpr std::string_view kPrivateUsers = "privateUsers";
inline constexpr std::string_view kApps = "apps";
inline constexpr std::string_view kAppName = "name";
inline constexpr std::string_view kAppImage = "image";
inline constexpr std::string_view kAppTree = "tree";
inline constexpr std::string_view kAppReadOnlyRootfs = "readOnlyRootfs";
}  // namespace runtime_field

inline constexpr int64_t kDefaultStopTimeoutSeconds = 10;

struct RuntimeApp {
  std::string name;
  std::string image;           // the store's image ID
  std::filesystem::path tree;  // absolute: the rendered rootfs (an overlay's lower layer)
  bool readOnlyRootfs = false;
};

struct MdsOptions {
  std::filesystem::path socket;
  std::string token;
  uint16_t port = 0;
};

// runtime.json's privateUsers (ABI §2): the pod's user namespace maps its IDs 0…count-1 to
// host uids uid… and host gids gid… (equal today; two starts let a later stage0 map groups
// apart).
struct PrivateUsers {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t count = 0;
  bool operator==(const PrivateUsers&) const = default;
};

struct RuntimeOptions {
  std::string uuid;
  std::string hostname;
  std::string net = "default";  // which modes a stage1 takes: its descriptor's features.net
  // net "netns": the namespace stage0 made and attached to the pod's CNI networks, which the
  // stage1 joins (ABI §2 "netns"); an absolute path.
  std::optional<std::string> netns;
  // The pod's IPC namespace (--ipc, rkt's): "auto" (the flavor's own choice; absent reads so),
  // "private" (one of its own) or "parent" (the host's); the flavors take what their
  // descriptor's features.ipc lists.
  std::string ipc = "auto";
  bool interactive = false;
  bool noOverlay = false;  // --no-overlay: each app's rootfs is a copy of its tree
  int64_t stopTimeoutSeconds = kDefaultStopTimeoutSeconds;
  bool debug = false;
  // Where the apps' output goes (ABI §2): "file" (logs/<app>.log) or "journal" (the systemd
  // journal, §5 "systemd").
  std::string logDriver = "file";
  // Options for the stage1 itself (--stage1-opt NAME=VALUE, --kvm-accel): only those its
  // descriptor's features.options declare, with a value it lists (ABI §2, §4).
  std::map<std::string, std::string> stage1Options;
  std::string stage2;  // may be empty: the stage1's own copy
  std::string init;    // idem
  std::optional<MdsOptions> mds;
  std::optional<json::Json> podResources;    // OCI linux.resources (resources.hpp reads it)
  std::optional<PrivateUsers> privateUsers;  // null: the pod shares the host's IDs
  std::vector<RuntimeApp> apps;

  json::Json toJson() const;
  // Unknown fields are ignored (a newer stage0); a missing or invalid required field is an
  // Error{kInvalid} naming it, a ferryRuntimeVersion other than kRuntimeVersion an
  // Error{kUnsupported}. `what` names the document in errors.
  static RuntimeOptions fromJson(const json::Json& j, std::string_view what);
  // <podDir>/runtime.json.
  static RuntimeOptions read(const std::filesystem::path& podDir);

  // Error{kInvalid} unless `uuid` is this pod's (an entrypoint's --uuid).
  void checkUuid(std::string_view uuid) const;
  bool hasApp(std::string_view name) const;
};

}  // namespace ferry::stage1
