#include "formats/appc/os_arch.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {

struct Mapping {
  std::string_view os, arch;             // appc
  std::string_view ociArch, ociVariant;  // OCI, written by toOciPlatform
};

// One row per appc combination that has an OCI counterpart.
constexpr Mapping kMappings[] = {
    {"linux", "amd64", "amd64", ""},     {"linux", "i386", "386", ""},
    {"linux", "aarch64", "arm64", ""},   {"linux", "armv6l", "arm", "v6"},
    {"linux", "armv7l", "arm", "v7"},    {"linux", "ppc64", "ppc64", ""},
    {"linux", "ppc64le", "ppc64le", ""}, {"linux", "s390x", "s390x", ""},
    {"freebsd", "amd64", "amd64", ""},   {"freebsd", "i386", "386", ""},
    {"freebsd", "arm", "arm", "v6"},     {"darwin", "x86_64", "amd64", ""},
    {"darwin", "i386", "386", ""},
};

std::string join(const std::vector<std::string_view>& v) {
  std::string out;
  for (auto s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

const std::vector<OsArchs>& validOsArchs() {
  static const std::vector<OsArchs> kList = {
      {"linux",
       {"amd64", "i386", "aarch64", "aarch64_be", "armv6l", "armv7l", "armv7b", "ppc64", "ppc64le",
        "s390x"}},
      {"freebsd", {"amd64", "i386", "arm"}},
      {"darwin", {"x86_64", "i386"}},
  };
  return kList;
}

bool isValidOsArch(std::string_view os, std::string_view arch) {
  for (const auto& entry : validOsArchs()) {
    if (entry.os != os) continue;
    for (auto a : entry.archs) {
      if (a == arch) return true;
    }
  }
  return false;
}

void validateOsArch(const Labels& labels) {
  auto os = labels.get("os");
  if (!os) return;
  for (const auto& entry : validOsArchs()) {
    if (entry.os != *os) continue;
    auto arch = labels.get("arch");
    if (arch && !isValidOsArch(*os, *arch)) {
      throw Error(Errc::kInvalid, "bad arch " + quote(*arch) + " for os " + quote(*os) +
                                      " (must be one of: " + join(entry.archs) + ")");
    }
    return;
  }
  std::vector<std::string_view> oses;
  for (const auto& entry : validOsArchs()) oses.push_back(entry.os);
  throw Error(Errc::kInvalid, "bad os " + quote(*os) + " (must be one of: " + join(oses) + ")");
}

std::optional<OciPlatform> toOciPlatform(std::string_view os, std::string_view arch) {
  for (const auto& m : kMappings) {
    if (m.os == os && m.arch == arch) {
      return OciPlatform{std::string(os), std::string(m.ociArch), std::string(m.ociVariant)};
    }
  }
  return std::nullopt;
}

std::optional<AppcOsArch> fromOciPlatform(std::string_view os, std::string_view architecture,
                                          std::string_view variant) {
  auto result = [&](std::string_view arch) {
    return std::optional<AppcOsArch>(AppcOsArch{std::string(os), std::string(arch)});
  };
  if (architecture == "arm") {
    if (os == "linux") {
      // Without a variant, appc's own table picks ARMv6 (the common denominator).
      if (variant.empty() || variant == "v6") return result("armv6l");
      if (variant == "v7") return result("armv7l");
      return std::nullopt;
    }
    if (os == "freebsd" &&
        (variant.empty() || variant == "v5" || variant == "v6" || variant == "v7")) {
      return result("arm");
    }
    return std::nullopt;
  }
  if (architecture == "arm64") {
    // OCI writes "v8" for arm64 or leaves the variant out; both are aarch64.
    if (os == "linux" && (variant.empty() || variant == "v8")) return result("aarch64");
    return std::nullopt;
  }
  if (!variant.empty()) return std::nullopt;  // e.g. amd64/v3 needs CPU features appc cannot say
  for (const auto& m : kMappings) {
    if (m.os == os && m.ociArch == architecture && m.ociVariant.empty()) return result(m.arch);
  }
  return std::nullopt;
}

}  // namespace ferry::appc
