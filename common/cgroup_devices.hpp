// A pod's device allowlist on its cgroups (device_rules.hpp says what a policy is).
//
// The kernel checks every mknod and open of a device node against both interfaces a host may
// have: the v1 devices controller of the process's cgroup there, and the device programs
// attached to its cgroup v2 cgroup and that cgroup's ancestors; a device is allowed only when
// both allow it. A hybrid host has both, a pure v2 host only the second. So the policy goes,
// before any process joins the group, on
//   - each v1 member with devices.list: "a" into devices.deny (nothing), then one devices.allow
//     line per entry. A v1 child cgroup starts with its parent's list, and can only narrow it.
//     Where the group has such a member, that alone confines every process of the group, and
//     its cgroup2 members get no program (as runc and crun on a v1 or hybrid host): attaching
//     the first device program of a host makes the kernel patch its text (the
//     cgroup_bpf_enabled_key static key, on every CPU) on top of the verifier's load, and patch
//     it back when the cgroup is released, ~0.5 ms of a pod's start for no added rule.
//   - otherwise every cgroup2 member (a pure v2 host; any host whose v1 devices hierarchy the
//     group is not in): the policy's program (device_program.hpp), loaded once, attached with
//     BPF_F_ALLOW_MULTI (a program attached below, by a nested runtime, can only take more
//     away: the kernel allows a device when every effective program does; never
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
// that can confine devices (a v1 devices one, every cgroup2 one) has a member in `group`, each v1
// devices member is confined (a devices.list that is not "a *:* rwm"), and each cgroup2 member
// has an effective device program unless a v1 devices member confines the group (as
// applyDevicePolicy leaves it on a hybrid host). Error{kSecurity} naming the first that is not.
void requireDeviceRules(const Group& group);

}  // namespace ferry::cgroup
