#include "formats/oci/sysctl.hpp"

#include <algorithm>
#include <array>

namespace ferry::oci {

namespace {

constexpr std::array<std::string_view, 8> kIpcKeys = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
constexpr std::array<std::string_view, 2> kUtsKeys = {"kernel.hostname", "kernel.domainname"};

// Dotted components, none empty, no '/' (a key names one file below /proc/sys).
bool wellFormed(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  if (key.find("..") != std::string_view::npos) return false;
  return std::none_of(key.begin(), key.end(),
                      [](char c) { return c == '/' || c == '\0' || c <= ' '; });
}

// `key` is below `prefix` ("net." …) with at least one more component.
bool below(std::string_view key, std::string_view prefix) {
  return key.size() > prefix.size() && key.starts_with(prefix);
}

}  // namespace

std::optional<std::string_view> sysctlNamespace(std::string_view key) {
  if (!wellFormed(key)) return std::nullopt;
  if (std::find(kIpcKeys.begin(), kIpcKeys.end(), key) != kIpcKeys.end() ||
      below(key, "fs.mqueue.")) {
    return "ipc";
  }
  if (std::find(kUtsKeys.begin(), kUtsKeys.end(), key) != kUtsKeys.end()) return "uts";
  if (below(key, "net.")) return "network";
  return std::nullopt;
}

}  // namespace ferry::oci
