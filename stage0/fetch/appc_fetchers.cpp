#include "stage0/fetch/appc_fetchers.hpp"

#include "discovery/appc_image_ref.hpp"
#include "stage0/fetch/appc_session.hpp"

namespace ferry::fetch {

namespace {

class AppcNameFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<AppcNameArg>(arg);
  }
  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    auto ref = discovery::parseAppcImageRef(std::get<AppcNameArg>(arg).text);
    return AppcSession(ctx).fetchByName(ref);
  }
};

class AciUrlFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override { return std::holds_alternative<UrlArg>(arg); }
  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    return AppcSession(ctx).fetchByUrl(std::get<UrlArg>(arg).url);
  }
};

}  // namespace

void addAppcFetchers(std::vector<std::unique_ptr<Fetcher>>& out) {
  out.push_back(std::make_unique<AppcNameFetcher>());
  out.push_back(std::make_unique<AciUrlFetcher>());
}

}  // namespace ferry::fetch
