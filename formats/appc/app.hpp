// The `app` object: how to run an image, in an image manifest or overridden in a pod manifest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/isolator.hpp"
#include "formats/appc/labels.hpp"
#include "formats/appc/names.hpp"

namespace ferry::appc {

inline constexpr std::string_view kPreStart = "pre-start";
inline constexpr std::string_view kPostStop = "post-stop";

struct EventHandler {
  std::vector<std::string> exec{};
  std::string name{};  // kPreStart or kPostStop
  friend bool operator==(const EventHandler&, const EventHandler&) = default;
};

struct MountPoint {
  AcName name;
  std::string path{};
  std::optional<bool> readOnly{};
  friend bool operator==(const MountPoint&, const MountPoint&) = default;

  static MountPoint fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

// A port or a range [port, port + count - 1] the app listens on.
struct Port {
  AcName name;
  std::string protocol{};           // free-form; typically "tcp" or "udp"
  uint16_t port = 0;                // 1..65535
  std::optional<uint32_t> count{};  // >= 1; absent means 1
  std::optional<bool> socketActivated{};
  friend bool operator==(const Port&, const Port&) = default;

  static Port fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

// Fields in spec order. Empty lists are omitted from toJson, as an absent list means the same.
struct App {
  std::vector<std::string> exec{};  // the spec no longer requires it to be non-empty
  std::string user{};               // name, number or /path inside the rootfs; required
  std::string group{};              // likewise
  std::vector<uint32_t> supplementaryGIDs{};
  std::vector<EventHandler> eventHandlers{};      // names unique
  std::optional<std::string> workingDirectory{};  // absolute
  Environment environment{};
  Isolators isolators{};
  std::vector<MountPoint> mountPoints{};  // names unique
  std::vector<Port> ports{};              // names unique
  StringMap userAnnotations{};
  StringMap userLabels{};
  friend bool operator==(const App&, const App&) = default;

  static App fromJson(const json::Json& j, std::string_view path);
  json::Json toJson() const;
};

}  // namespace ferry::appc
