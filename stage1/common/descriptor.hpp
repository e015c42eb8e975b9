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

// Feature names (ABI §4). Absent means unsupported (a boolean false, an empty list), except
// for the ones marked "absent: any" (added after interface version 1 first shipped: an older
// descriptor keeps what it did).
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
// (absent: any; a limit outside the list is refused).
inline constexpr std::string_view kResources = "resources";
// false: an app's config.json linux.sysctl is refused (absent: any).
inline constexpr std::string_view kSysctl = "sysctl";
// false: a hostname of the pod's own (--hostname) is refused (absent: offered).
inline constexpr std::string_view kHostname = "hostname";
// The runtime.json logDriver values it takes (absent: any).
inline constexpr std::string_view kLogDrivers = "logDrivers";
// The runtime.json ipc values it takes besides "auto" (--ipc=private|parent; absent: none).
inline constexpr std::string_view kIpc = "ipc";
// {"<feature>": "why"}: said after a refusal of that feature (absent: nothing).
inline constexpr std::string_view kReasons = "reasons";
// {"<name>": ["value", …]}: the stage1 options it takes (runtime.json stage1Options) and their
// values (an empty list: any value); absent: none.
inline constexpr std::string_view kOptions = "options";
}  // namespace feature

struct RuntimeOptions;

// What a pod asks of its stage1, as far as it is known: stage0 fills it from the request before
// a pod exists (PodAsk::of, and the apps once their images are resolved, addApp with the
// config.json it will write); a flavor's run from runtime.json and the apps' config.json.
struct PodAsk {
  std::string net = "none";  // runtime.json "net"
  std::string netFlag;       // the flag that asked for it (messages); empty: --net=<net>
  std::string ipc = "auto";  // runtime.json "ipc"
  bool interactive = false;
  bool mds = false;
  bool privateUsers = false;
  bool hostname = false;  // a hostname of the pod's own was asked for (--hostname)
  std::string logDriver = "file";
  std::map<std::string, std::string> options;  // runtime.json stage1Options
  std::optional<size_t> apps;                  // how many apps, once known
  struct App {
    std::string name;
    std::vector<std::string> sysctls;    // config.json linux.sysctl keys
    std::vector<std::string> resources;  // config.json linux.resources members set
  };
  std::vector<App> appAsks;               // the apps whose config.json is known
  std::vector<std::string> podResources;  // runtime.json podResources members set

  // Everything runtime.json says (apps: their number; no config.json read).
  static PodAsk of(const RuntimeOptions& rt);
  // An app's config.json (OCI runtime spec) as written to apps/<app>/config.json.
  void addApp(const std::string& name, const json::Json& config);
};

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

// A pod asking for what the descriptor does not offer (a --net mode, an --ipc mode, --interactive,
// --mds-register, --private-users, --hostname, a log driver, more apps than maxApps, an app's
// sysctl, a resource limit): Error{kUnsupported}, one line, "not supported: stage1 "NAME" …"
// naming the flag or config.json field, then the descriptor's reason for that feature if it has
// one. stage0 calls it before a pod exists (and again, before any of its files is written, once
// the apps' images are resolved); each flavor's run again (defence in depth: a pod directory
// stage0 did not make).
void refuseUnsupported(const Descriptor& d, const PodAsk& ask);
// runtime.json alone (PodAsk::of).
void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt);
// The run's form: runtime.json, and the apps' config.json in podDir when the descriptor limits
// what they may ask (sysctl, resources); nothing else is read.
void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt,
                       const std::filesystem::path& podDir);

// The descriptor of the stage1 the calling entrypoint belongs to: stage1.json in the parent of
// the directory of /proc/self/exe (bin/run → ./stage1.json).
Descriptor ownDescriptor();

}  // namespace ferry::stage1
