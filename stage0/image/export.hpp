// `ferry image export`: an image of the store written out as an ACI file or an OCI layout.
//
// ACI: an appc image is written exactly as it was fetched (its original, compressed file when
// the store kept one, else its tar, which then is the file), so `cmp` with the source holds.
// An OCI image is written through its ACI translation (the store's, or one made now by
// convert::convertImage, with its loss report).
// OCI: an OCI image's manifest, config and layers are copied (each verified as it is read)
// into the layout, created or opened, and named REF there. An appc image goes through its OCI
// translation (the store's, or convert::convertImage, dependencies from the store).
// The store's lock is held shared throughout, so a concurrent gc takes nothing being read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "stage0/convert/convert.hpp"
#include "stage0/store/store.hpp"

namespace ferry::image {

struct ExportOptions {
  convert::Location destination;
  bool overwrite = false;  // replace an existing ACI file
};

// destination: as the user would write it ("oci:DIR:REF" or the file); id: the ID of what was
// written (an ACI's image ID, an OCI manifest digest).
using ExportResult = convert::Result;

ExportResult exportImage(store::Store& store, const store::ImageRecord& image,
                         const ExportOptions& options);

}  // namespace ferry::image
