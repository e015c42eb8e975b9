// A pod's device allowlist on its cgroups (device_rules.hpp says what a policy is).
//
// The kernel checks every mknod and open of a device node against both interfaces a host may
// have: the v1 devices controller of the process's cgroup there, and the device programs
// attached to its cgroup v2 cgroup and that cgroup's ancestors. A hybrid host has both, a pure
// v2 host only the second. So the policy goes on every member of the pod's group that can carry
// it, before any process joins the group:
//   - a v1 member with devices.allow: "a" into devices.deny (nothing), then one devices.allow
//     line per entry. A v1 child cgroup starts with its parent's list.
//   - every cgroup2 member: the policy's program (device_program.hpp), loaded once, attached
//     with BPF_F_ALLOW_MULTI (a program attached below, by a nested runtime, can only take
//     more away: the kernel allows a device when every effective program does; never
//     BPF_F_ALLOW_OVERRIDE, which would let one below replace it). Children inherit it as an
//     effective program, so the app cgroups below the pod cgroup need nothing of their own.
#pragma once

#include "common/cgroup.hpp"
#include "common/device_rules.hpp"

namespace ferry::cgroup {

// Error{kUnsupported} when no member can carry the policy (neither a v1 devices hierarchy nor a
// cgroup2 one): the pod would have no device rules at all.
void applyDevicePolicy(const Group& group, const DevicePolicy& policy);

// For a process about to join `group` (ferry enter): every hierarchy of the caller's layout
// that can confine devices has a member in `group`, and each such member is confined (a v1
// devices.list that is not "a *:* rwm"; a cgroup2 directory with an effective device program).
// Error{kSecurity} naming the first that is not.
void requireDeviceRules(const Group& group);

}  // namespace ferry::cgroup
