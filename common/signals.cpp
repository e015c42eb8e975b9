#include "common/signals.hpp"

#include <charconv>
#include <csignal>
#include <cstring>

namespace ferry {

namespace {
constexpr int kMaxSignal = 64;
}  // namespace

std::string signalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "SIG" + std::to_string(sig);
}

std::optional<int> parseSignal(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
    if (n >= 1 && n <= kMaxSignal) return n;
    return std::nullopt;
  }
  if (text.starts_with("SIG")) text.remove_prefix(3);
  if (text.empty()) return std::nullopt;
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev != nullptr && text == abbrev) return sig;
  }
  return std::nullopt;
}

}  // namespace ferry
