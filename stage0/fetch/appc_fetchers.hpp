// The appc fetchers that go over the network: appc names through meta discovery
// (example.com/app:1.0,os=linux) and ACI URLs (https://…/x.aci with x.aci.asc). Both run an
// AppcSession, which also fetches dependencies.
#pragma once

#include <memory>
#include <vector>

#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {

void addAppcFetchers(std::vector<std::unique_ptr<Fetcher>>& out);

}  // namespace ferry::fetch
