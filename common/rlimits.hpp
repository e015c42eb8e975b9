// Resource limits by name (RLIMIT_NOFILE, …), for the code that checks or applies them:
// stage0 refuses what cannot be had before a pod starts, stage2 applies process.rlimits.
#pragma once

#include <optional>
#include <string_view>

namespace ferry {

// RLIMIT_NOFILE → RLIMIT_NOFILE's number; nothing for a name the platform does not have.
std::optional<int> rlimitResource(std::string_view name);

// Whether this process may raise a hard limit (CAP_SYS_RESOURCE in its effective set).
bool hasEffectiveCapSysResource();

}  // namespace ferry
