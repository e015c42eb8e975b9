// process.capabilities as bit sets, and applying them with libcap.
//
// The runtime-spec sets are translated once (pure, unit-tested): a name ferry does not know is an
// error naming the set; a capability the running kernel does not know (above CAP_LAST_CAP) is
// ignored, as runc does, so one config works across kernels. Applying happens in two steps
// around the user switch (user.hpp): dropBounding() while still root, then keepCapabilities()
// before setresuid and setCapabilities() after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/oci/runtime_spec.hpp"

namespace ferry::stage2 {

struct CapabilitySets {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
  friend bool operator==(const CapabilitySets&, const CapabilitySets&) = default;
};

inline uint64_t capBit(int cap) { return uint64_t{1} << cap; }

// The sets of process.capabilities; an absent set is empty. Throws Error{kInvalid} naming
// `process.capabilities.<set>[i]` for an unknown name.
CapabilitySets capabilitySetsFrom(const oci::Capabilities& caps);

// "CAP_CHOWN CAP_KILL" (for messages and tests).
std::string capabilityNames(uint64_t set);

// The highest capability number the running kernel knows.
int lastCapability();

// Drops every capability not in `bounding` from the bounding set (needs CAP_SETPCAP).
void dropBounding(uint64_t bounding);

// PR_SET_KEEPCAPS on or off: permitted survives setresuid away from uid 0 while on.
void keepCapabilities(bool keep);

// Sets effective, permitted and inheritable (capset), then the ambient set.
void setCapabilities(const CapabilitySets& sets);

// The calling thread's current sets, read back with capget (for tests and messages).
CapabilitySets currentCapabilities();

}  // namespace ferry::stage2
