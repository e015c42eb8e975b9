// The docker:// fetcher (registry v2; bearer and basic auth; indexes to the host platform).
#pragma once

#include <memory>
#include <vector>

#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {

void addDockerFetcher(std::vector<std::unique_ptr<Fetcher>>& out);

}  // namespace ferry::fetch
