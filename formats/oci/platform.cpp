#include "formats/oci/platform.hpp"

#include <string>

#include "common/error.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci {

Platform hostPlatform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
  p.variant = "v7";
#else
  p.variant = "v6";
#endif
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#elif defined(__loongarch64)
  p.architecture = "loong64";
#else
#error "unknown host architecture: add its GOARCH name here"
#endif
  return p;
}

Platform parsePlatform(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    parts.emplace_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool ok = (parts.size() == 2 || parts.size() == 3);
  for (const auto& part : parts) ok = ok && !part.empty();
  if (!ok) {
    throw Error(Errc::kInvalid,
                "invalid platform " + quote(s) + ": want os/architecture[/variant]");
  }
  Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

Platform normalize(const Platform& in) {
  Platform p = in;
  std::string& a = p.architecture;
  if (a == "x86_64" || a == "x86-64") a = "amd64";
  if (a == "i386" || a == "i686") a = "386";
  if (a == "aarch64") a = "arm64";
  if (a == "armhf") {
    a = "arm";
    if (!p.variant) p.variant = "v7";
  }
  if (a == "armel") {
    a = "arm";
    if (!p.variant) p.variant = "v6";
  }
  if (p.variant && p.variant->empty()) p.variant.reset();
  // arm64 has only v8 in practice; "linux/arm64" and "linux/arm64/v8" are the same platform.
  if (a == "arm64" && !p.variant) p.variant = "v8";
  return p;
}

namespace {

// 0 = no match; higher is better.
int score(const Platform& hostIn, const Platform& imageIn) {
  Platform host = normalize(hostIn);
  Platform image = normalize(imageIn);
  if (host.os != image.os || host.architecture != image.architecture) return 0;
  if (!image.variant) return 1;
  if (!host.variant) return 2;  // the caller did not ask for a variant: any will do
  if (*host.variant == *image.variant) return 100;
  // ARM: vN runs code for vM <= N. Prefer the newest compatible variant.
  const std::string& hv = *host.variant;
  const std::string& iv = *image.variant;
  if (host.architecture == "arm" && hv.size() == 2 && iv.size() == 2 && hv[0] == 'v' &&
      iv[0] == 'v' && iv[1] >= '5' && iv[1] < hv[1]) {
    return 10 + (iv[1] - '0');
  }
  return 0;
}

bool isImageEntry(const Descriptor& d) { return isManifest(d.mediaType) || isIndex(d.mediaType); }

}  // namespace

bool platformMatches(const Platform& host, const Platform& image) { return score(host, image) > 0; }

const Descriptor& selectManifest(const ImageIndex& index, const Platform& want) {
  const Descriptor* best = nullptr;
  int bestScore = 0;
  size_t images = 0;
  const Descriptor* only = nullptr;
  for (const auto& d : index.manifests) {
    if (!isImageEntry(d)) continue;
    ++images;
    only = &d;
    if (!d.platform) continue;
    int s = score(want, *d.platform);
    if (s > bestScore) {  // ties: the first listed wins, as registries order by preference
      best = &d;
      bestScore = s;
    }
  }
  if (best != nullptr) return *best;
  if (images == 1 && !only->platform) return *only;

  std::string available;
  for (const auto& d : index.manifests) {
    if (!isImageEntry(d)) continue;
    if (!available.empty()) available += ", ";
    available += d.platform ? d.platform->str() : "(no platform) " + d.digest.str();
  }
  if (available.empty()) available = "none";
  throw Error(Errc::kNotFound, "cannot find an image for platform " + want.str() +
                                   " in the image index: available: " + available);
}

}  // namespace ferry::oci
