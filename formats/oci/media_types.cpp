#include "formats/oci/media_types.hpp"

#include <string>

#include "common/error.hpp"

namespace ferry::oci {

std::string_view compressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

bool isManifest(std::string_view mt) {
  return mt == media::kImageManifest || mt == media::kDockerManifest;
}

bool isIndex(std::string_view mt) {
  return mt == media::kImageIndex || mt == media::kDockerManifestList;
}

bool isConfig(std::string_view mt) {
  return mt == media::kImageConfig || mt == media::kDockerConfig;
}

namespace {
struct LayerType {
  std::string_view mediaType;
  Compression compression;
  bool nondistributable;
};

constexpr LayerType kLayerTypes[] = {
    {media::kLayerTar, Compression::kNone, false},
    {media::kLayerTarGzip, Compression::kGzip, false},
    {media::kLayerTarZstd, Compression::kZstd, false},
    {media::kLayerNondistributableTar, Compression::kNone, true},
    {media::kLayerNondistributableTarGzip, Compression::kGzip, true},
    {media::kLayerNondistributableTarZstd, Compression::kZstd, true},
    {media::kDockerLayerTarGzip, Compression::kGzip, false},
    {media::kDockerForeignLayerTarGzip, Compression::kGzip, true},
};

const LayerType* findLayer(std::string_view mt) {
  for (const auto& t : kLayerTypes) {
    if (t.mediaType == mt) return &t;
  }
  return nullptr;
}

// RFC 6838 4.2: restricted-name = restricted-name-first *126restricted-name-chars.
bool isRestrictedName(std::string_view s) {
  if (s.empty() || s.size() > 127) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (i == 0) return false;
    if (std::string_view("!#$&-^_.+").find(c) == std::string_view::npos) return false;
  }
  return true;
}
}  // namespace

bool isLayer(std::string_view mt) { return findLayer(mt) != nullptr; }

bool isNondistributable(std::string_view mt) {
  const LayerType* t = findLayer(mt);
  return t != nullptr && t->nondistributable;
}

Compression layerCompression(std::string_view mt) {
  const LayerType* t = findLayer(mt);
  if (t == nullptr) {
    throw Error(Errc::kUnsupported, "not supported: layer media type " + quote(mt));
  }
  return t->compression;
}

bool isValidMediaType(std::string_view mt) {
  auto slash = mt.find('/');
  if (slash == std::string_view::npos) return false;
  return isRestrictedName(mt.substr(0, slash)) && isRestrictedName(mt.substr(slash + 1));
}

}  // namespace ferry::oci
