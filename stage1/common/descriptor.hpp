// stage1.json, a stage1's descriptor (stage1/ABI.md §4): one definition, read by stage0 (which
// stage1 it runs, what it may ask of it) and by each flavor's own run entrypoint (which refuses,
// through the same features, what it cannot do, before anything exists).
//   {"name":"ns","interfaceVersion":1,
//    "entrypoints":{"run":"bin/run","enter":"bin/enter","stop":"bin/stop","gc":"bin/gc"},
//    "features":{"net":["host","none","default"],"interactive":true,"mds":true,…}}
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace ferry::stage1 {

// Feature names (ABI §4). Absent means unsupported (a boolean false, an empty list).
namespace feature {
inline constexpr std::string_view kNet = "net";                  // the --net modes offered
inline constexpr std::string_view kInteractive = "interactive";  // --interactive
inline constexpr std::string_view kMds = "mds";                  // --mds-register
inline constexpr std::string_view kCgroups = "cgroups";          // pod and app cgroups
inline constexpr std::string_view kRoot = "root";                // runs pods as root only
inline constexpr std::string_view kPrivateUsers = "privateUsers";
// How many apps a pod may have (absent: any number).
inline constexpr std::string_view kMaxApps = "maxApps";
// The OCI linux.resources an app (or podResources) may set: "memory", "cpu", "pids", "devices"
// (absent: all of them; a limit outside the list is refused by the flavor's run).
inline constexpr std::string_view kResources = "resources";
}  // namespace feature

struct Descriptor {
  std::filesystem::path dir;  // canonical
  std::string name;
  int interfaceVersion = 0;
  std::map<std::string, std::string, std::less<>> entrypoints;  // name → path relative to dir
  json::Json features = json::Json::object();

  // Reads and checks dir/stage1.json: interfaceVersion is this build's, entrypoints run and gc at
  // least, each a relative path to an executable file inside dir. Errors name the file and field.
  static Descriptor load(const std::filesystem::path& dir);

  bool hasEntrypoint(std::string_view entry) const { return entrypoints.contains(entry); }
  // A boolean feature: true only when present and true.
  bool feature(std::string_view name) const;
  // A list feature: nullopt when absent.
  std::optional<std::vector<std::string>> list(std::string_view name) const;
  bool supportsNet(std::string_view mode) const;
  std::optional<int64_t> maxApps() const;
};

struct RuntimeOptions;

// What a flavor's run refuses before it creates anything: a pod asking for what the flavor's own
// descriptor does not offer (a --net mode, --interactive, --mds-register, more apps than maxApps),
// as Error{kUnsupported} "not supported: stage1 "NAME" …". stage0 asks the same features before a
// pod exists; this covers the ones it does not know (maxApps) and a hand-made pod directory.
void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt);

// The descriptor of the stage1 the calling entrypoint belongs to: stage1.json in the parent of
// the directory of /proc/self/exe (bin/run → ./stage1.json).
Descriptor ownDescriptor();

}  // namespace ferry::stage1
