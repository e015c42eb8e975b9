// Linux capability names as the capability isolators write them ("CAP_NET_ADMIN").
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace ferry::appc {

// The kernel's capability number for a "CAP_…" name; nullopt for an unknown name.
std::optional<int> capabilityNumber(std::string_view name);
// Every capability the kernel headers ferry knows define, in number order.
const std::vector<std::string_view>& linuxCapabilities();
// The 14 capabilities an app gets when it has no capability isolator (appc executor spec).
const std::vector<std::string_view>& defaultCapabilities();

}  // namespace ferry::appc
