// Choosing one image of a multi-platform index.
//
// Names follow Go's GOOS/GOARCH (image-index.md). Common aliases (x86_64, aarch64, armhf) are
// normalized first. On arm, a host of variant vN runs images built for vN or older, so the best
// match is the exact variant, then older ones, then an entry that names no variant.
#pragma once

#include <string_view>

#include "formats/oci/descriptor.hpp"
#include "formats/oci/index.hpp"

namespace ferry::oci {

// The platform ferry was built for, e.g. linux/amd64 or linux/arm64/v8.
Platform hostPlatform();

// Parses "os/arch[/variant]" (e.g. "linux/arm/v7"). Throws Error{kInvalid}.
Platform parsePlatform(std::string_view s);

// Maps aliases to GOARCH names and fills arm64's implicit variant "v8".
Platform normalize(const Platform& p);

// True if an image for `image` runs on `host` (os and architecture equal, variant compatible).
bool platformMatches(const Platform& host, const Platform& image);

// The entry of `index` for `want`: an image manifest or a nested index whose platform matches
// best. Entries of unknown media types and entries without a platform are skipped, except that an
// index holding exactly one manifest without a platform yields that manifest. Throws
// Error{kNotFound} naming `want` and listing the platforms available.
const Descriptor& selectManifest(const ImageIndex& index, const Platform& want = hostPlatform());

}  // namespace ferry::oci
