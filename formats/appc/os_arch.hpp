// The "os" and "arch" labels, and how they map to OCI platforms.
//
// appc names architectures after uname (amd64, i386, aarch64, armv7l, …; x86_64 on darwin);
// OCI uses Go's GOARCH names plus a variant (amd64, 386, arm64, arm + v6/v7, …). Only the
// combinations in the spec's ValidOSArch list are valid labels; a few of them (big-endian ARM)
// have no OCI counterpart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/appc/labels.hpp"

namespace ferry::appc {

struct OsArchs {
  std::string_view os;
  std::vector<std::string_view> archs{};
};

// The spec's whitelist of os → archs.
const std::vector<OsArchs>& validOsArchs();
bool isValidOsArch(std::string_view os, std::string_view arch);

// Throws Error{kInvalid} if the labels name an os that is not listed, or an arch that is not
// listed for their os. An arch without an os is allowed (the spec gives it no meaning).
void validateOsArch(const Labels& labels);

struct OciPlatform {
  std::string os{};
  std::string architecture{};
  std::string variant{};  // empty when none
  friend bool operator==(const OciPlatform&, const OciPlatform&) = default;
};

struct AppcOsArch {
  std::string os{};
  std::string arch{};
  friend bool operator==(const AppcOsArch&, const AppcOsArch&) = default;
};

// nullopt for combinations without a counterpart (linux/aarch64_be, linux/armv7b, unknown).
std::optional<OciPlatform> toOciPlatform(std::string_view os, std::string_view arch);
std::optional<AppcOsArch> fromOciPlatform(std::string_view os, std::string_view architecture,
                                          std::string_view variant = {});

}  // namespace ferry::appc
