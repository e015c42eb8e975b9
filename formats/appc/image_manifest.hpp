// The image manifest: the `manifest` file at the root of an ACI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/app.hpp"
#include "formats/appc/image_id.hpp"
#include "formats/appc/labels.hpp"
#include "formats/appc/names.hpp"
#include "formats/appc/semver.hpp"

namespace ferry::appc {

// An image to lay down before this one, found by name (and labels) through discovery.
struct Dependency {
  AcIdentifier imageName;
  std::optional<ImageId> imageID{};
  Labels labels{};
  std::optional<uint64_t> size{};  // bytes; lets the fetcher stop an endless download
  friend bool operator==(const Dependency&, const Dependency&) = default;

  static Dependency fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

// acKind is always "ImageManifest": it is checked by the parser and written by toJson, not
// stored. Empty lists are omitted from toJson (an absent list means the same).
struct ImageManifest {
  SemVer acVersion = appcVersion();
  AcIdentifier name;
  Labels labels{};  // unique names, no "name"; a valid os/arch combination
  std::optional<App> app{};
  std::vector<Dependency> dependencies{};    // in rendering order
  std::vector<std::string> pathWhitelist{};  // absolute paths
  Annotations annotations{};
  friend bool operator==(const ImageManifest&, const ImageManifest&) = default;

  static ImageManifest fromJson(const json::Json& j);
  // Parses the text of a manifest; `what` names it in errors ("manifest of \"x.aci\"").
  static ImageManifest parse(std::string_view text, std::string_view what);
  json::Json toJson() const;
  std::string str(bool pretty = false) const { return json::dump(toJson(), pretty); }
};

}  // namespace ferry::appc
