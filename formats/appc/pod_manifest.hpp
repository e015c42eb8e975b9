// The pod manifest: the apps of a pod, their images, volumes, isolators and exposed ports.
//
// ferry writes the reified form into the pod directory (every image by ID, every mount point
// satisfied); users may hand in a template with `--pod-manifest`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/app.hpp"
#include "formats/appc/image_id.hpp"
#include "formats/appc/isolator.hpp"
#include "formats/appc/labels.hpp"
#include "formats/appc/names.hpp"
#include "formats/appc/semver.hpp"

namespace ferry::appc {

// kind "host": a bind mount of an absolute host path.
struct HostVolume {
  std::string source{};
  friend bool operator==(const HostVolume&, const HostVolume&) = default;
};
// kind "empty": a fresh directory that lives as long as the pod. The spec's defaults apply
// when a field is absent: mode "0755", uid 0, gid 0.
struct EmptyVolume {
  std::optional<std::string> mode{};  // octal digits, e.g. "0750"
  std::optional<uint32_t> uid{};
  std::optional<uint32_t> gid{};
  friend bool operator==(const EmptyVolume&, const EmptyVolume&) = default;

  uint32_t modeBits() const;  // the mode as a number, 0755 when absent
};

struct Volume {
  AcName name;
  std::variant<HostVolume, EmptyVolume> kind;
  std::optional<bool> readOnly{};
  std::optional<bool> recursive{};  // whether a host bind mount is recursive
  friend bool operator==(const Volume&, const Volume&) = default;

  std::string_view kindName() const;  // "host" or "empty"
  static Volume fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

struct Mount {
  AcName volume;
  std::string path{};                 // inside the app's rootfs
  std::optional<Volume> appVolume{};  // a volume for this mount only, instead of a pod volume
  friend bool operator==(const Mount&, const Mount&) = default;

  static Mount fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

struct RuntimeImage {
  std::optional<AcIdentifier> name{};
  ImageId id;
  Labels labels{};
  friend bool operator==(const RuntimeImage&, const RuntimeImage&) = default;

  static RuntimeImage fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

struct RuntimeApp {
  AcName name;  // unique in the pod
  RuntimeImage image;
  std::optional<App> app{};  // replaces the image's app section
  std::optional<bool> readOnlyRootFS{};
  std::vector<Mount> mounts{};
  Annotations annotations{};
  friend bool operator==(const RuntimeApp&, const RuntimeApp&) = default;

  static RuntimeApp fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

// A port to expose on the host: an app's port by name, or `podPort` given in full.
struct ExposedPort {
  AcName name;
  uint16_t hostPort = 0;                // 1..65535
  std::optional<std::string> hostIP{};  // IPv4 or IPv6 literal to bind on the host
  std::optional<Port> podPort{};
  friend bool operator==(const ExposedPort&, const ExposedPort&) = default;

  static ExposedPort fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

// acKind is always "PodManifest": checked by the parser, written by toJson, not stored.
// `apps` is always written; other empty lists and maps are omitted.
struct PodManifest {
  SemVer acVersion = appcVersion();
  std::vector<RuntimeApp> apps{};
  std::vector<Volume> volumes{};  // names unique
  Isolators isolators{};
  Annotations annotations{};
  std::vector<ExposedPort> ports{};  // names unique
  StringMap userAnnotations{};
  StringMap userLabels{};
  friend bool operator==(const PodManifest&, const PodManifest&) = default;

  const RuntimeApp* findApp(std::string_view name) const;
  const Volume* findVolume(std::string_view name) const;

  static PodManifest fromJson(const json::Json& j);
  static PodManifest parse(std::string_view text, std::string_view what);
  json::Json toJson() const;
  std::string str(bool pretty = false) const { return json::dump(toJson(), pretty); }
};

}  // namespace ferry::appc
