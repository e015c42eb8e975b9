// `ferry export UUID [APP] OUT.aci` (rkt export): an app of an exited pod as an ACI — the app's
// image manifest (apps/APP/manifest) and its root filesystem as the pod left it: on an overlay
// pod, the upper layer (what the app wrote and deleted) over the image's tree, read through a
// read-only overlay mounted in a mount namespace of this process's own; on a copied one
// (--no-overlay), the copy. The archive is gzip-compressed, members in path order, written
// beside OUT and renamed into place.
#pragma once

#include <filesystem>
#include <string>

#include "stage0/pod/pods.hpp"

namespace ferry::image {

struct PodExportOptions {
  std::string app;  // empty: the pod's only app
  std::filesystem::path out;
  bool overwrite = false;  // replace an existing OUT
};

struct PodExportResult {
  std::string app;
  std::string id;  // the ACI's image ID (sha512 of its tar)
};

// Holds the pod's lock shared while it reads (a running pod, or one being collected, is
// refused). Error{kUnsupported} for a pod with --private-users (its files belong to the
// namespace's IDs).
PodExportResult exportPodApp(const pod::Pod& pod, const PodExportOptions& options);

}  // namespace ferry::image
