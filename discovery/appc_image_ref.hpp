// appc images as users name them: `name[:version][,label=value]…`.
//
// An AppcImageRef is what appc discovery looks for (appc_discovery.hpp) and what the image it
// finds must match: the name, and labels in the order given — "version" (from ":version") first,
// then the others, then "os" and "arch" filled in from the host when the string leaves them
// out. Matching follows the spec's rule: every label asked for must be in the image manifest
// with the same value; labels not asked for may have any value.
#pragma once

#include <string>
#include <string_view>

#include "formats/appc/labels.hpp"
#include "formats/appc/names.hpp"
#include "formats/appc/os_arch.hpp"

namespace ferry::discovery {

struct AppcImageRef {
  appc::AcIdentifier name;
  appc::Labels labels{};

  // "name[:version][,label=value]…", the form parseAppcImageRef reads.
  std::string str() const;
  friend bool operator==(const AppcImageRef&, const AppcImageRef&) = default;
};

// The platform ferry was built for, as OCI names it (linux/amd64, linux/arm64/v8, …).
appc::OciPlatform hostPlatform();

// Parses "example.com/app:1.0,channel=alpha". A missing "os" label becomes the host's os; a
// missing "arch" becomes the host's architecture as appc spells it for that os (left out when
// appc has no name for it). Throws Error{kInvalid} `cannot parse image "…": <cause>` for an
// invalid name, an empty version or label, a label without "=" or with an empty value, a
// duplicate label, a label called "name", or an os/arch pair the spec does not list.
AppcImageRef parseAppcImageRef(std::string_view s, const appc::OciPlatform& host = hostPlatform());

// Throws Error{kInvalid} `image "…" does not match "…": <cause>` unless `name` is the name asked
// for and every label asked for is among `labels` with the same value.
void checkManifestMatches(const AppcImageRef& ref, const appc::AcIdentifier& name,
                          const appc::Labels& labels);

}  // namespace ferry::discovery
