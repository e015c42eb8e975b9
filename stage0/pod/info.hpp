// What `ferry list` and `ferry status` show of a pod, read from its directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "stage0/net/pod_network.hpp"
#include "stage0/pod/pods.hpp"
#include "stage0/pod/runtime_options.hpp"

namespace ferry::pod {

// The app annotation (pod manifest) naming an OCI app's image as `ferry run` takes it
// (docker://REPO:TAG, oci:DIR:REF): what list and status show for it.
inline constexpr std::string_view kImageNameAnnotation = "dev.ferry.image-name";

struct PodAppInfo {
  std::string name;
  std::string imageName;
  std::string imageId;  // the store's ID
  std::optional<AppStatus> status;
};

struct PodInfo {
  std::string uuid;
  State state = State::kEmbryo;
  std::optional<int64_t> pid;
  std::optional<int64_t> exitCode;   // the pod's (the `exit` file)
  std::optional<int64_t> createdAt;  // unix nanoseconds
  std::optional<int64_t> startedAt;
  std::optional<int64_t> finishedAt;
  std::optional<std::string> unit;  // the systemd unit it runs in (the `unit` record)
  std::vector<PodAppInfo> apps;
  std::string net;  // runtime.json's: "host", "none" or "netns" (CNI networks); "" unknown
  std::vector<net::NetworkStatus> networks;

  json::Json toJson() const;
  // NETWORKS of `ferry list` (the first address of each network) and networks= of `ferry status`
  // (every address, NAME:ADDRESS each: a dual-stack network appears twice):
  // "default:172.16.28.2/24,…" (a name alone when not attached), "host", "none", or "-".
  std::string networksText(bool everyAddress = false) const;
};

// Best effort on files a pod being prepared may not have yet.
PodInfo inspect(const Pod& pod);

}  // namespace ferry::pod
