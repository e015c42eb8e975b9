// Calling CNI plugins as the CNI specification says (ADD, DEL, CHECK of a network configuration
// list), for one pod's network namespace. ferry does not configure interfaces, addresses or NAT
// itself: the plugins (Debian's containernetworking-plugins in /usr/lib/cni) do.
//
// A plugin is executed with the CNI_* variables, its configuration on stdin (the list's
// "name" and "cniVersion" added, the previous plugin's result as "prevResult", the runtime
// values its "capabilities" ask for as "runtimeConfig"), and answers a result or an error
// object on stdout. For a list: ADD runs the plugins in order, each getting the previous one's
// result; DEL runs them in reverse with the cached result of the ADD; CHECK in order with it.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/json.hpp"

namespace ferry::net {

// The directories searched for a plugin by its type: $FERRY_CNI_PATH (colon-separated), else
// /usr/lib/cni then /opt/cni/bin.
std::vector<std::filesystem::path> cniPath();

// The executable of a plugin type in cniPath(); Error{kNotFound} naming the type and the
// directories searched. A type must be a plain name (no '/', not starting with '.').
std::filesystem::path findPlugin(const std::string& type);

// What a CNI invocation is about (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS).
struct Attachment {
  std::string containerId;
  std::string netns;  // a path; "" when the namespace is gone (DEL only)
  std::string ifName;
  std::vector<std::pair<std::string, std::string>> args;
  json::Json runtimeConfig = json::Json::object();  // e.g. {"portMappings": […]}
};

// ADD of every plugin of `list` (a conflist: name, cniVersion, plugins); returns the last
// plugin's result. A failure is an Error naming the network and the plugin, with the plugin's
// own message; the caller runs del() to undo what the earlier plugins did.
json::Json add(const json::Json& list, const Attachment& a);
// DEL of every plugin in reverse order, with `cached` (ADD's result, or null) as prevResult.
// Every plugin is called even when one fails; then the first failure is thrown.
void del(const json::Json& list, const Attachment& a, const json::Json& cached);
// CHECK of every plugin in order (cniVersion 0.4.0 and later; earlier lists: nothing to do).
void check(const json::Json& list, const Attachment& a, const json::Json& cached);

// Checks that `list` is a configuration list ferry can run: name, cniVersion, a non-empty
// "plugins" array of objects with a "type" each, every type (and ipam.type) found by
// findPlugin. `what` names the source in errors.
void validateList(const json::Json& list, const std::string& what);

// A single-plugin configuration file (.conf, .json) as a list of one.
json::Json listOfConf(const json::Json& conf);

// The addresses of a result (0.3.0 and later "ips"; 0.1/0.2 "ip4"/"ip6"): "172.16.28.2/24".
std::vector<std::string> resultAddresses(const json::Json& result);
// Interfaces of a result that live outside the pod (no "sandbox"): the host side of a veth, a
// bridge.
std::vector<std::string> hostInterfaces(const json::Json& result);

}  // namespace ferry::net
