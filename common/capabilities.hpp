// Linux capability names (capabilities(7)), shared by the appc isolators and the OCI runtime
// spec, which both name capabilities as "CAP_…".
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace ferry {

// Index = capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (Linux 5.9).
const std::vector<std::string_view>& linuxCapabilityNames();
std::optional<int> linuxCapabilityNumber(std::string_view name);

}  // namespace ferry
