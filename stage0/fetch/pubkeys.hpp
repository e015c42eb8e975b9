// Public keys for `ferry trust` from the network: from URLs given by the user, or from the
// ac-discovery-pubkeys tags of a prefix's appc discovery pages. Same HTTP policy as a fetch
// (https; plain http only with --insecure-options=http; SSL_CERT_FILE; the stall timeout).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {

struct FetchedKey {
  std::string url;
  std::string armored;
};

// GETs each URL (at most 1 MiB each). Error{kNotFound/kIo} `cannot fetch key "URL": GET …: 404
// Not Found` for a non-2xx answer; transport errors as the http client throws them.
std::vector<FetchedKey> fetchKeys(const std::vector<std::string>& urls,
                                  const FetchOptions& options);

// The keys that appc discovery of `prefix` (an AC Identifier) announces.
std::vector<FetchedKey> discoverKeys(std::string_view prefix, const FetchOptions& options);

}  // namespace ferry::fetch
