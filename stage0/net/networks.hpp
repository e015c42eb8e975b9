// Which networks a pod joins (`--net`, rkt's semantics) and the configurations behind them.
//
//   --net=default            ptp + host-local IPAM (172.16.28.0/24) + IP masquerade out
//   --net=default-restricted ptp + host-local IPAM (172.16.29.0/24), host only: no route
//                            beyond the host, no masquerade
//   --net=host | none        the host's namespace | a private one with loopback only
//   --net=NAME[:K=V;…][,…]   named networks from $dir/net.d, then /etc/ferry/net.d (.conf,
//                            .json, .conflist), with CNI_ARGS; several networks per pod
//   --net=all                every configured network (and default)
// A configuration file is the operator's: owned by root (or ferry's user) and writable by
// nobody else, a regular file. A network named "default" or "default-restricted" in net.d
// replaces ferry's own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json.hpp"

namespace ferry::net {

struct NetworkRef {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS
};

struct NetSpec {
  enum class Mode { kHost, kNone, kCni };
  Mode mode = Mode::kNone;
  bool all = false;
  std::vector<NetworkRef> networks;  // kCni, in the order given
  bool hostOrNone = false;           // given as --net=host or --net=none

  // One --net value (a bare --net is "default"); repeated flags add to `*this`. Error{kUsage}.
  void add(std::string_view text);
  // "host", "none", or the networks as given ("default", "a,b", "all").
  std::string text() const;
};

// --port NAME:[HOSTIP:]HOSTPORT (NAME: a port the app's image declares) and
// --publish [HOSTIP:]HOSTPORT:PODPORT[/tcp|udp].
struct PortRequest {
  std::string name;  // --port: the image's port name; "" for --publish
  std::string hostIp;
  uint16_t hostPort = 0;
  uint16_t podPort = 0;  // --port: filled from the image at prepare
  std::string protocol = "tcp";
};
PortRequest parsePort(std::string_view text);     // Error{kUsage}
PortRequest parsePublish(std::string_view text);  // Error{kUsage}

// One network a pod joins: its name, the interface it gets, its CNI_ARGS and the configuration
// list as it was when the pod was prepared (DEL must see what ADD saw).
struct PlannedNetwork {
  std::string name;
  std::string ifName;
  std::vector<std::pair<std::string, std::string>> args;
  json::Json config;
};

// <pod>/net/networks.json: written at prepare, read at start and teardown.
struct NetPlan {
  std::vector<PlannedNetwork> networks;
  std::vector<PortRequest> ports;
  // No --dns flag and a configuration declares DNS: <pod>/etc/resolv.conf is the pod's, written
  // at prepare from the configuration and at start from the results.
  bool resolvConf = false;

  json::Json toJson() const;
  static NetPlan fromJson(const json::Json& j, const std::string& what);
  // The nameservers… the configurations declare ("dns"), which the plugins hand back in their
  // results: nullopt when none does.
  std::optional<json::Json> declaredDns() const;
};

// The directories searched for network configurations, an earlier one first: $dir/net.d, then
// the configuration directories' net.d (config::Config::netDirs: local, then system; none given:
// /etc/ferry/net.d).
std::vector<std::filesystem::path> configDirs(
    const std::filesystem::path& dataDir,
    const std::vector<std::filesystem::path>& configNetDirs = {});

// Resolves a --net spec into the plan: every configuration found, read, checked (its plugins
// exist) and copied; the ports passed to the plugins that have the portMappings capability
// (ferry's own default networks gain portmap when there are ports). Error naming the network
// and the file.
NetPlan planNetworks(const NetSpec& spec, const std::vector<PortRequest>& ports,
                     const std::filesystem::path& dataDir,
                     const std::vector<std::filesystem::path>& configNetDirs = {});

}  // namespace ferry::net
