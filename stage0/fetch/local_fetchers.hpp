// Fetchers for what is already on this machine: store IDs, ACI files (with their .asc
// signature, verified against ferry's trust store), and oci: layouts (every blob re-verified).
#pragma once

#include <memory>
#include <vector>

#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {

void addLocalFetchers(std::vector<std::unique_ptr<Fetcher>>& out);

}  // namespace ferry::fetch
