// A DevicePolicy as a cgroup v2 device program (BPF_PROG_TYPE_CGROUP_DEVICE): cgroup v2 has no
// devices.allow file; the kernel runs the programs attached to a cgroup and its ancestors on
// every mknod and open of a device node by a member, and refuses unless each returns 1.
//
// The program reads the context (struct bpf_cgroup_dev_ctx: access_type = access << 16 | type,
// major, minor) into r2..r5, then tests each allow entry in turn — type, the requested access
// bits against the allowed ones, major, minor, as each entry needs — and returns 1 on the first
// that holds, 0 after the last. No helper, no map, no loop: the verifier's cheapest kind.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "common/device_rules.hpp"

namespace ferry::cgroup {

std::vector<bpf_insn> deviceProgram(const DevicePolicy& policy);

}  // namespace ferry::cgroup
