// The image index: a list of manifests, usually one per platform (image-index.md). Docker's
// manifest list has the same shape and parses into the same type. An oci-layout's index.json
// is an ImageIndex too (see layout.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/descriptor.hpp"

namespace ferry::oci {

struct ImageIndex {
  int schemaVersion = 2;
  std::optional<std::string> mediaType;  // OCI: optional; Docker: required
  std::optional<std::string> artifactType;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  Annotations annotations;
  json::Json extra = json::Json::object();

  static ImageIndex fromJson(const json::Json& j, const std::string& path = "",
                             const ParseOptions& opts = {});
  static ImageIndex parse(std::string_view text, std::string_view what,
                          const ParseOptions& opts = {});
  json::Json toJson() const;
  std::string dump() const;

  bool isDocker() const;

  friend bool operator==(const ImageIndex&, const ImageIndex&) = default;
};

}  // namespace ferry::oci
