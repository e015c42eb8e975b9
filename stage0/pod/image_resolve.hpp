// An image of the store as a pod uses it (stage0/pod/prepare.hpp): its rendered tree, its appc
// manifest (an OCI image's is the translation of its config, losses reported against the app),
// the ID the pod manifest records, and the OCI settings that apply as OCI says (StopSignal, the
// Env entries an ACI cannot hold). Internal to stage0/pod.
#pragma once

#include <optional>
#include <string>

#include "formats/appc/image_manifest.hpp"
#include "formats/appc/pod_manifest.hpp"
#include "formats/translate/report.hpp"
#include "stage0/store/store.hpp"

namespace ferry::pod {

// An image in the store with what a pod needs of it.
struct ResolvedImage {
  store::ImageRecord record;
  std::string tree;              // rendered rootfs
  appc::ImageManifest manifest;  // the ACI's, or the OCI image's translation
  appc::ImageId podId;           // the ID written in the pod manifest
  // The OCI config's StopSignal: of the OCI image, or of the one an ACI was translated from
  // (kept in its annotation dev.ferry.oci.config).
  std::optional<std::string> stopSignal;
};

// A regular file of an image's rendered tree, its path resolved as if the tree were "/"
// (openat2 RESOLVE_IN_ROOT: an /etc symlink to /etc stays in the image); nullopt when absent or
// not a regular file.
std::optional<std::string> readInTree(const std::string& tree, const char* rel);

// The name of an image a pod shows: the one `typed` names (docker://REPO:TAG, oci:DIR:REF)
// among the names the image was fetched under, else its newest name — never the first name with
// another name's tag.
store::ImageName chosenName(const store::ImageRecord& r, const std::string& typed);

// The image `imageId` of the store, its tree rendered; what its translation loses that changes
// how the app runs is reported under `appPath` (apps[N]).
ResolvedImage resolveImage(store::Store& store, const std::string& imageId, translate::Report& rep,
                           const std::string& appPath, const std::string& typed = {});

// The store's ID of the OCI image a pod manifest names by its appc ID (the sha512 of its
// manifest: resolveImage), when the store has it and the ID is no image of its own.
std::optional<std::string> findOciByPodId(const store::Store& store, const appc::ImageId& id);

// Applies an image's OCI environment extras to an app taken from that image (before the
// user's --environment) and records the names appc refuses as the app annotation
// dev.ferry.environment, which appToRuntime applies.
void applyOciEnv(const ResolvedImage& img, appc::App& app, appc::RuntimeApp& ra);

}  // namespace ferry::pod
