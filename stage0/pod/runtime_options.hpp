// runtime.json (stage1/ABI.md §2) and what stage1 leaves in a pod directory (§1, §5): pid,
// exit, status/<app>.json. stage0 writes the first and reads the others for list and status.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace ferry::pod {

struct RuntimeApp {
  std::string name;
  std::string image;  // the store's image ID
  std::string tree;   // absolute path of the rendered rootfs in the tree store
  bool readOnlyRootfs = false;
};

struct MdsRegistration {
  std::string socket;
  std::string token;
  uint16_t port = 0;
};

// The pod's user namespace (--private-users): its IDs 0…count-1 are host uids uid… and host
// gids gid… (equal today; two starts let a later stage0 map groups apart).
struct PrivateUsersRange {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t count = 0;
  bool operator==(const PrivateUsersRange&) const = default;
};

struct RuntimeOptions {
  std::string uuid;
  std::string hostname;
  std::string net = "default";
  bool interactive = false;
  bool noOverlay = false;  // --no-overlay: each app's rootfs is a copy of its tree
  int stopTimeoutSeconds = 10;
  bool debug = false;
  std::string stage2;
  std::string init;
  std::optional<MdsRegistration> mds;
  std::optional<json::Json> podResources;
  std::optional<PrivateUsersRange> privateUsers;  // null: the pod shares the host's IDs
  std::vector<RuntimeApp> apps;

  json::Json toJson() const;
  // Unknown fields are ignored (ABI §2); a missing required field is an error naming it.
  static RuntimeOptions fromJson(const json::Json& j, std::string_view what);
  static RuntimeOptions read(const std::filesystem::path& podDir);
};

// status/<app>.json (ABI §5).
struct AppStatus {
  std::string name;
  std::string state;  // created | running | exited; "" when stage1 wrote nothing yet
  std::optional<int64_t> pid;
  std::optional<int64_t> createdAt, startedAt, finishedAt;  // unix nanoseconds
  std::optional<int> exitCode;
  std::optional<std::string> signal;
  bool oomKilled = false;

  json::Json toJson() const;
};

// nullopt when the file does not exist yet; Error{kInvalid} when it is not what §5 says.
std::optional<AppStatus> readAppStatus(const std::filesystem::path& podDir, const std::string& app);
// The decimal number in a file such as pid or exit; nullopt when absent or empty.
std::optional<int64_t> readNumberFile(const std::filesystem::path& file);
// A file's modification time in unix nanoseconds; nullopt when absent.
std::optional<int64_t> fileTime(const std::filesystem::path& file);

}  // namespace ferry::pod
