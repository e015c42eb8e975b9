// Signal names as the OCI image spec's StopSignal, `--stop-signal` and pod status write them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// "SIGQUIT"; "SIG<n>" for a signal without a name (the real-time ones but the first and last).
std::string signalName(int sig);

// "SIGQUIT", "QUIT" or "3" (1 to 64) → the number; nullopt for anything else.
std::optional<int> parseSignal(std::string_view text);

}  // namespace ferry
