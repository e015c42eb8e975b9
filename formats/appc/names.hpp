// appc names: AC Name, AC Identifier, AC Kind.
//
// formats/appc models the App Container spec (appc 0.8.11). The small value types here and in
// image_id.hpp, uuid.hpp, semver.hpp, quantity.hpp validate in their parse() factory and cannot
// hold an invalid value. labels.hpp holds the ordered name/value lists (labels, annotations,
// environment), isolator.hpp the isolator kinds, app.hpp the `app` object shared by both
// manifests, and image_manifest.hpp / pod_manifest.hpp the two documents. Every fromJson walks
// the document with json::Object, so an unknown or invalid field is an error naming its JSON
// path; every toJson emits the canonical form (fields in spec order, absent optionals and empty
// optional lists omitted), so that toJson(fromJson(x)) == x for a canonical document.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::appc {

// AC Identifier: lowercase letters, digits and `-._~/`, beginning and ending with a letter or
// digit. Image names, label, annotation and isolator names.
class AcIdentifier {
 public:
  static AcIdentifier parse(std::string_view s);  // throws Error{kInvalid}
  static bool isValid(std::string_view s);

  const std::string& str() const { return value_; }
  friend bool operator==(const AcIdentifier&, const AcIdentifier&) = default;
  friend auto operator<=>(const AcIdentifier&, const AcIdentifier&) = default;

 private:
  explicit AcIdentifier(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

// AC Name: lowercase letters, digits and `-`, beginning and ending with a letter or digit. App
// names in a pod, volume, mount point and port names.
class AcName {
 public:
  static AcName parse(std::string_view s);  // throws Error{kInvalid}
  static bool isValid(std::string_view s);
  // Turns an arbitrary string into an AC Name the way rkt derives an app name from an image
  // name: lowercase, every run of other characters becomes one '-', dashes trimmed at both
  // ends. nullopt when nothing is left.
  static std::optional<AcName> sanitize(std::string_view s);

  const std::string& str() const { return value_; }
  friend bool operator==(const AcName&, const AcName&) = default;
  friend auto operator<=>(const AcName&, const AcName&) = default;

 private:
  explicit AcName(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

// AC Kind: a non-empty string of ASCII letters and digits ("ImageManifest", "PodManifest").
class AcKind {
 public:
  static AcKind parse(std::string_view s);  // throws Error{kInvalid}
  static bool isValid(std::string_view s);

  const std::string& str() const { return value_; }
  friend bool operator==(const AcKind&, const AcKind&) = default;

 private:
  explicit AcKind(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

inline constexpr std::string_view kImageManifestKind = "ImageManifest";
inline constexpr std::string_view kPodManifestKind = "PodManifest";

}  // namespace ferry::appc
