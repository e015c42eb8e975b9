// Images of the store as the image commands name them (issue 13 items 3, 4): an ID, a unique ID
// prefix, or any name the image was fetched under, written as `ferry run` takes it; and the
// names `image list` shows, each of which can be pasted back into `ferry run`.
#pragma once

#include <string>
#include <string_view>

#include "stage0/store/store.hpp"

namespace ferry::cli {

// The stored image `ref` names, without a network round trip: an ID or ID prefix (sha512-…,
// sha256:…, or bare hex of at least 8 digits), an appc name with labels
// (example.com/app:1.0,os=linux), docker://REPO[:TAG|@DIGEST], oci:DIR[:REF], an ACI URL fetched
// before. Error{kNotFound} naming `ref` (with a hint for a registry name without docker://)
// when the store has no such image.
store::ImageRecord findStoredImage(const store::Store& store, std::string_view ref);

}  // namespace ferry::cli
