// The kvm stage1's pod networks (stage1/ABI.md §4 "kvm"). stage0 attaches the pod's network
// namespace to its CNI networks as for every flavor; the run entrypoint's child joins it, reads
// what the plugins configured there (each interface but lo, its addresses, the main table's
// routes: readNetns), gives each interface a tap joined to it by tc mirred redirects both ways
// (plugTaps: whatever arrives on the interface leaves through the tap to QEMU, whatever QEMU
// sends leaves through the interface) and writes that configuration into the share, where the
// guest's /init reads it and gives its virtio-net interfaces (matched by MAC address) the same
// names, MTU, addresses and routes (applyNetConfig). QEMU runs in the pod's namespace and never
// sees the host's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/fs.hpp"

namespace ferry::stage1::kvm {

struct NetLink {
  std::string name;  // eth0, eth1, … (the CNI interface)
  std::string mac;   // aa:bb:cc:dd:ee:ff
  uint32_t mtu = 1500;
};
struct NetAddr {
  std::string link;
  int family = 0;    // AF_INET or AF_INET6
  std::string addr;  // numeric
  int prefix = 0;
};
struct NetRoute {
  std::string link;
  int family = 0;
  std::string dst;  // numeric; with prefix 0 the default route
  int prefix = 0;
  std::string gateway;  // numeric, or empty
  int scope = 0, protocol = 0;
  uint32_t metric = 0;
};

struct NetConfig {
  std::vector<NetLink> links;
  std::vector<NetAddr> addrs;
  std::vector<NetRoute> routes;  // routes without a gateway first

  // One line per entry: "link NAME MAC MTU", "addr LINK ADDR/PREFIX", "route LINK DST/PREFIX
  // GATEWAY|- SCOPE PROTOCOL METRIC".
  std::string text() const;
  // Throws Error{kInvalid} on a malformed line.
  static NetConfig parse(const std::string& text);
};

// The calling process's network namespace: every interface but lo (none down), its global
// addresses and the main table's unicast routes through it. Throws.
NetConfig readNetns();

// For each link of `config` (in the calling process's namespace), a tap "kvmtapN" (vnet header,
// its MTU, up) and tc ingress redirects link → tap and tap → link. The taps' descriptors, in
// link order, not close-on-exec (QEMU's -netdev tap,fd=N). Throws.
std::vector<UniqueFd> plugTaps(const NetConfig& config);

// In the guest: each link of `config` is the virtio-net interface with its MAC address (waited
// for up to 20 s), renamed, its MTU set, up; then the addresses (no prefix routes, no DAD) and
// the routes. Throws.
void applyNetConfig(const NetConfig& config);

}  // namespace ferry::stage1::kvm
