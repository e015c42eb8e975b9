// The image configuration (config.md): what to run and on which platform, the layers' DiffIDs
// and the build history. Docker writes the same document (media type
// application/vnd.docker.container.image.v1+json) with more fields; the ones Docker defines are
// modeled here so that real Docker images parse even in strict mode and serialize back, while
// ferry's translators only read the OCI ones.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/json.hpp"
#include "formats/oci/parse_options.hpp"

namespace ferry::oci {

// Docker's HEALTHCHECK; durations are nanoseconds.
struct Healthcheck {
  std::optional<std::vector<std::string>>
      test;  // "Test": ["CMD", …] / ["CMD-SHELL", "…"] / ["NONE"]
  std::optional<int64_t> interval;
  std::optional<int64_t> timeout;
  std::optional<int64_t> startPeriod;
  std::optional<int64_t> startInterval;
  std::optional<int64_t> retries;
  json::Json extra = json::Json::object();

  friend bool operator==(const Healthcheck&, const Healthcheck&) = default;
};

// The "config" object: execution defaults for a container of this image.
struct ContainerConfig {
  // OCI fields.
  std::optional<std::string> user;
  std::optional<int64_t> memory;      // bytes
  std::optional<int64_t> memorySwap;  // bytes, -1 disables swap
  std::optional<int64_t> cpuShares;
  std::optional<std::set<std::string>> exposedPorts;  // "80/tcp", "53/udp", "8080"
  std::optional<std::vector<std::string>> env;        // "NAME=value"
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::set<std::string>> volumes;
  std::optional<std::string> workingDir;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::string> stopSignal;
  std::optional<bool> argsEscaped;  // deprecated; Windows only in practice
  // Docker-only fields.
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  std::optional<bool> attachStdin;
  std::optional<bool> attachStdout;
  std::optional<bool> attachStderr;
  std::optional<bool> tty;
  std::optional<bool> openStdin;
  std::optional<bool> stdinOnce;
  std::optional<Healthcheck> healthcheck;
  std::optional<std::string> image;
  std::optional<bool> networkDisabled;
  std::optional<std::string> macAddress;
  std::optional<std::vector<std::string>> onBuild;
  std::optional<int64_t> stopTimeout;  // seconds
  std::optional<std::vector<std::string>> shell;
  json::Json extra = json::Json::object();

  static ContainerConfig fromJson(const json::Json& j, const std::string& path,
                                  const ParseOptions& opts = {});
  json::Json toJson() const;

  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct RootFs {
  std::string type = "layers";  // the only value the spec allows
  std::vector<Digest> diffIds;  // sha256 of each uncompressed layer tar, base first
  json::Json extra = json::Json::object();

  friend bool operator==(const RootFs&, const RootFs&) = default;
};

struct HistoryEntry {
  std::optional<std::string> created;
  std::optional<std::string> createdBy;  // "created_by"
  std::optional<std::string> author;
  std::optional<std::string> comment;
  std::optional<bool> emptyLayer;  // "empty_layer": true for steps that made no layer
  json::Json extra = json::Json::object();

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  std::optional<std::string> created;  // RFC 3339 date-time
  std::optional<std::string> author;
  std::string architecture;
  std::string os;
  std::optional<std::string> osVersion;                // "os.version"
  std::optional<std::vector<std::string>> osFeatures;  // "os.features"
  std::optional<std::string> variant;
  std::optional<ContainerConfig> config;
  RootFs rootfs;
  std::vector<HistoryEntry> history;
  // Docker-only fields.
  std::optional<std::string> container;
  std::optional<ContainerConfig> containerConfig;  // "container_config"
  std::optional<std::string> dockerVersion;        // "docker_version"
  json::Json extra = json::Json::object();

  static ImageConfig fromJson(const json::Json& j, const std::string& path = "",
                              const ParseOptions& opts = {});
  static ImageConfig parse(std::string_view text, std::string_view what,
                           const ParseOptions& opts = {});
  json::Json toJson() const;
  std::string dump() const;

  // History entries that produced a layer (empty_layer not true); their count should equal
  // rootfs.diffIds.size().
  size_t nonEmptyHistory() const;

  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

}  // namespace ferry::oci
