// The OCI content descriptor and the platform object of an index entry.
//
// Documents of the image-spec refer to each other by descriptor: a media type, a digest and a
// size (descriptor.md). The manifests of an image index carry a `platform` (image-index.md);
// Docker's manifest list uses the same object, plus a `features` array the OCI spec reserves.
// The types here, the manifest, the index and the image configuration all follow one pattern:
// `fromJson(json, path, options)` validates and converts, `toJson()` writes the fields in the
// spec's order followed by any kept unknown fields (`extra`), and `parse(text, what)` parses a
// whole document. See parse_options.hpp for what is strict and what is kept.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/json.hpp"
#include "formats/oci/parse_options.hpp"

namespace ferry::oci {

using Annotations = std::map<std::string, std::string>;

struct Platform {
  std::string architecture;  // GOARCH values: amd64, arm64, arm, ppc64le, s390x, 386, riscv64
  std::string os;            // GOOS values: linux, windows, …
  std::optional<std::string> osVersion;                // "os.version"
  std::optional<std::vector<std::string>> osFeatures;  // "os.features"
  std::optional<std::string> variant;                  // v6, v7, v8 for arm/arm64
  std::optional<std::vector<std::string>> features;    // Docker only (reserved by OCI)
  json::Json extra = json::Json::object();

  static Platform fromJson(const json::Json& j, const std::string& path,
                           const ParseOptions& opts = {});
  json::Json toJson() const;
  // "os/architecture[/variant]", e.g. "linux/arm64/v8".
  std::string str() const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

struct Descriptor {
  Descriptor(std::string mediaType, Digest digest, int64_t size)
      : mediaType(std::move(mediaType)), digest(std::move(digest)), size(size) {}

  std::string mediaType;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  Annotations annotations;
  std::optional<std::string> data;  // base64 of the content itself (image-spec 1.1)
  std::optional<Platform> platform;
  std::optional<std::string> artifactType;
  json::Json extra = json::Json::object();

  static Descriptor fromJson(const json::Json& j, const std::string& path,
                             const ParseOptions& opts = {});
  static Descriptor parse(std::string_view text, std::string_view what,
                          const ParseOptions& opts = {});
  json::Json toJson() const;

  // The value of an annotation, if present.
  std::optional<std::string> annotation(std::string_view key) const;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

}  // namespace ferry::oci
