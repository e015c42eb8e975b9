// oci-layout tar archives (`oci:FILE.tar[:REF]`, as `skopeo copy … oci-archive:` writes them).
//
// unpackLayoutArchive() extracts such a tar into an empty directory so that oci::LayoutReader
// reads it like any layout (every blob then verified against its digest as the fetcher copies
// it). Only what a layout holds is accepted: the files `oci-layout` and `index.json`, the
// directories `blobs` and `blobs/<algorithm>`, and regular files `blobs/<algorithm>/<hex>`
// (compressed archives too). Anything else — another name, a symlink, a hard link, a device, a
// duplicate, a path that escapes — is refused with Error{kSecurity} naming the entry, and the
// directory is left to its owner to remove.
#pragma once

#include <filesystem>

namespace ferry::fetch {

void unpackLayoutArchive(const std::filesystem::path& archive, const std::filesystem::path& dir);

}  // namespace ferry::fetch
