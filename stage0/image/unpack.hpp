// `ferry image extract` and `ferry image render`: an image of the store as a directory.
//
// extract: the image as it is, without dependencies. An ACI gives `manifest` and `rootfs/`
// (its tar extracted with the archive checks); an OCI image gives `manifest.json` (its OCI
// manifest as stored), `config.json` (its image config) and `rootfs/` (its layers applied in
// order, whiteouts honoured).
// render: the rootfs the image runs with: an ACI with its appc dependencies (pathWhitelist
// honoured), an OCI image's layers; rendered once into the tree store and copied from there,
// with `manifest` (an ACI's) beside it.
// With rootfsOnly, DIR holds the rootfs itself. DIR must be missing or an empty directory
// (with overwrite, any directory: the old content goes once the new one is in place);
// the result is built beside it and renamed into place, so a failure leaves DIR as it was.
#pragma once

#include <filesystem>

#include "stage0/store/store.hpp"

namespace ferry::image {

struct UnpackOptions {
  std::filesystem::path dir;
  bool rootfsOnly = false;
  bool overwrite = false;  // a DIR that is not empty is replaced (atomically) instead of refused
};

void extractImage(store::Store& store, const store::ImageRecord& image,
                  const UnpackOptions& options);
void renderImage(store::Store& store, const store::ImageRecord& image,
                 const UnpackOptions& options);

}  // namespace ferry::image
