// Isolators: {"name": <AC Identifier>, "value": <kind-specific JSON>}.
//
// Each kind the spec defines has its own struct; Isolator holds one of them in a variant and
// derives its name from the alternative, so a name can never disagree with its value. A name
// ferry does not know is kept, value and all, as UnknownIsolator: the executor must tell the
// user which isolators it ignored, so they are never dropped here. A known name with a bad value
// is an error naming the JSON path. Optional members are std::optional so that "default": false
// or "errno": "" survive a round trip.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/labels.hpp"
#include "formats/appc/names.hpp"
#include "formats/appc/quantity.hpp"

namespace ferry::appc {

inline constexpr std::string_view kResourceCpuName = "resource/cpu";
inline constexpr std::string_view kResourceMemoryName = "resource/memory";
inline constexpr std::string_view kResourceBlockBandwidthName = "resource/block-bandwidth";
inline constexpr std::string_view kResourceBlockIopsName = "resource/block-iops";
inline constexpr std::string_view kResourceNetworkBandwidthName = "resource/network-bandwidth";
inline constexpr std::string_view kLinuxCapabilitiesRetainSetName =
    "os/linux/capabilities-retain-set";
inline constexpr std::string_view kLinuxCapabilitiesRemoveSetName =
    "os/linux/capabilities-remove-set";
inline constexpr std::string_view kLinuxSeccompRetainSetName = "os/linux/seccomp-retain-set";
inline constexpr std::string_view kLinuxSeccompRemoveSetName = "os/linux/seccomp-remove-set";
inline constexpr std::string_view kLinuxNoNewPrivilegesName = "os/linux/no-new-privileges";
inline constexpr std::string_view kLinuxOomScoreAdjName = "os/linux/oom-score-adj";
inline constexpr std::string_view kLinuxCpuSharesName = "os/linux/cpu-shares";
inline constexpr std::string_view kLinuxSelinuxContextName = "os/linux/selinux-context";
inline constexpr std::string_view kUnixSysctlName = "os/unix/sysctl";

// Resource isolators: {"default": bool?, "request": quantity?, "limit": quantity?}.
// cpu (cores) and memory (bytes) take request and/or limit and no "default": true; the
// block-bandwidth, block-iops and network-bandwidth kinds need "default": true and a limit,
// and take no request.
struct ResourceValue {
  std::optional<bool> isDefault{};  // "default"
  std::optional<Quantity> request{};
  std::optional<Quantity> limit{};
  friend bool operator==(const ResourceValue&, const ResourceValue&) = default;
};
struct ResourceCpu : ResourceValue {};
struct ResourceMemory : ResourceValue {};
struct ResourceBlockBandwidth : ResourceValue {};
struct ResourceBlockIops : ResourceValue {};
struct ResourceNetworkBandwidth : ResourceValue {};

// {"set": ["CAP_…", …]}: a non-empty list of Linux capability names.
struct LinuxCapabilitiesRetainSet {
  std::vector<std::string> set{};
  friend bool operator==(const LinuxCapabilitiesRetainSet&,
                         const LinuxCapabilitiesRetainSet&) = default;
};
struct LinuxCapabilitiesRemoveSet {
  std::vector<std::string> set{};
  friend bool operator==(const LinuxCapabilitiesRemoveSet&,
                         const LinuxCapabilitiesRemoveSet&) = default;
};

// {"errno": "ENOTSUP"?, "set": [syscall | "@scope/wildcard", …]}. An absent or empty errno
// means blocked calls kill the app with SIGSYS.
struct LinuxSeccompSet {
  std::optional<std::string> errnoName{};  // "errno"
  std::vector<std::string> set{};
  friend bool operator==(const LinuxSeccompSet&, const LinuxSeccompSet&) = default;
};
struct LinuxSeccompRetainSet : LinuxSeccompSet {};
struct LinuxSeccompRemoveSet : LinuxSeccompSet {};

struct LinuxNoNewPrivileges {  // a JSON boolean
  bool value = false;
  friend bool operator==(const LinuxNoNewPrivileges&, const LinuxNoNewPrivileges&) = default;
};
struct LinuxOomScoreAdj {  // a JSON integer, -1000..1000
  int value = 0;
  friend bool operator==(const LinuxOomScoreAdj&, const LinuxOomScoreAdj&) = default;
};
struct LinuxCpuShares {  // a JSON integer, 2..262144
  int value = 1024;
  friend bool operator==(const LinuxCpuShares&, const LinuxCpuShares&) = default;
};
struct LinuxSelinuxContext {  // {"user", "role", "type", "level"}, all required
  std::string user{}, role{}, type{}, level{};
  friend bool operator==(const LinuxSelinuxContext&, const LinuxSelinuxContext&) = default;
};
struct UnixSysctl {  // {"net.ipv4.tcp_mtu_probing": "1", …}
  StringMap entries{};
  friend bool operator==(const UnixSysctl&, const UnixSysctl&) = default;
};
struct UnknownIsolator {
  AcIdentifier name;
  json::Json value;
  friend bool operator==(const UnknownIsolator&, const UnknownIsolator&) = default;
};

using IsolatorValue =
    std::variant<ResourceCpu, ResourceMemory, ResourceBlockBandwidth, ResourceBlockIops,
                 ResourceNetworkBandwidth, LinuxCapabilitiesRetainSet, LinuxCapabilitiesRemoveSet,
                 LinuxSeccompRetainSet, LinuxSeccompRemoveSet, LinuxNoNewPrivileges,
                 LinuxOomScoreAdj, LinuxCpuShares, LinuxSelinuxContext, UnixSysctl,
                 UnknownIsolator>;

struct Isolator {
  IsolatorValue value;

  AcIdentifier name() const;
  bool known() const { return !std::holds_alternative<UnknownIsolator>(value); }

  // Throws Error{kInvalid} naming the JSON path. validate() checks a value built in code.
  static Isolator fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
  void validate() const;

  friend bool operator==(const Isolator&, const Isolator&) = default;
};

using Isolators = std::vector<Isolator>;

// Parses a list and checks it as a set: at most one isolator of each kind except the
// capability sets and no-new-privileges, and no retain set together with a remove set.
Isolators isolatorsFromJson(const json::Json& j, std::string_view path);
json::Json toJson(const Isolators& isolators);
void validateIsolatorSet(const Isolators& isolators, std::string_view path);

}  // namespace ferry::appc
