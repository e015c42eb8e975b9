// A pod's networks, from its start to its teardown (stage1/ABI.md §1, §2).
//
// prepare writes <pod>/net/networks.json (the plan: each network's configuration as it is then,
// its interface, its CNI_ARGS, the ports). At start, before the stage1 runs, stage0 creates the
// pod's network namespace — a namespace file bind-mounted at <pod>/netns, loopback up — checks
// that every published host port is free, runs CNI ADD for each network in order and caches
// each result (<pod>/net/<ifName>.json), and guards each host-side interface against packets
// to 127.0.0.0/8 (the portmap plugin sets route_localnet on it so that the host's 127.0.0.1
// reaches forwarded ports; without the guard a pod could reach the host's loopback services
// through it). The stage1 joins that namespace. tearDown (DEL in reverse order with the cached
// results, the guards removed, the namespace unmounted) runs when the pod ends, and from gc and
// rm for a pod whose stage1 or ferry was killed: it is idempotent, and keeps the namespace
// while a DEL fails so that the next try can still find the interfaces.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "stage0/net/networks.hpp"

namespace ferry::net {

// <pod>/net/networks.json exists: the pod joins CNI networks.
bool hasNetworks(const std::filesystem::path& podDir);
std::filesystem::path netnsPath(const std::filesystem::path& podDir);
void writePlan(const std::filesystem::path& podDir, const NetPlan& plan, Sync sync);
NetPlan readPlan(const std::filesystem::path& podDir);

// resolv.conf from a CNI result's (or a configuration's) "dns" object.
std::string resolvConfFromDns(const json::Json& dns);

// The start side. On failure everything done so far is undone (tearDown) before the error is
// thrown. When the plan says so, <pod>/etc/resolv.conf is rewritten from the results' DNS.
void setUp(const std::filesystem::path& podDir, const std::string& uuid, bool debug);
// Idempotent; a pod without networks has nothing to do.
void tearDown(const std::filesystem::path& podDir, const std::string& uuid);
// CNI CHECK of every network of a running pod.
void check(const std::filesystem::path& podDir, const std::string& uuid);

struct NetworkStatus {
  std::string name;
  std::string ifName;
  std::vector<std::string> addresses;  // from the cached result; empty when not attached
};
// What `ferry list` and `ferry status` show.
std::vector<NetworkStatus> networkStatus(const std::filesystem::path& podDir);

}  // namespace ferry::net
