// The image manifest: one image for one platform — a config blob and an ordered list of layers
// (manifest.md). Docker's v2.2 manifest has the same shape with Docker media types and a
// required `mediaType`; both parse into ImageManifest.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/descriptor.hpp"

namespace ferry::oci {

struct ImageManifest {
  explicit ImageManifest(Descriptor config) : config(std::move(config)) {}

  int schemaVersion = 2;
  std::optional<std::string> mediaType;  // OCI: optional; Docker: required
  std::optional<std::string> artifactType;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  Annotations annotations;
  json::Json extra = json::Json::object();

  static ImageManifest fromJson(const json::Json& j, const std::string& path = "",
                                const ParseOptions& opts = {});
  static ImageManifest parse(std::string_view text, std::string_view what,
                             const ParseOptions& opts = {});
  json::Json toJson() const;
  // The compact serialization, as stored in a blob.
  std::string dump() const;

  bool isDocker() const;

  friend bool operator==(const ImageManifest&, const ImageManifest&) = default;
};

}  // namespace ferry::oci
