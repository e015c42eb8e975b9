#include "stage0/fetch/fetch.hpp"

#include "common/error.hpp"
#include "discovery/reference.hpp"
#include "stage0/fetch/docker_fetcher.hpp"
#include "stage0/fetch/local_fetchers.hpp"

namespace ferry::fetch {

PullPolicy parsePullPolicy(std::string_view s) {
  if (s == "never") return PullPolicy::kNever;
  if (s == "new") return PullPolicy::kNew;
  if (s == "update") return PullPolicy::kUpdate;
  throw Error(Errc::kUsage, "--pull-policy: want never, new or update, not " + quote(s));
}

std::vector<std::unique_ptr<Fetcher>> makeFetchers() {
  std::vector<std::unique_ptr<Fetcher>> out;
  addLocalFetchers(out);
  addDockerFetcher(out);
  return out;
}

namespace {

// The image already in the store for this argument, when the argument names it without a
// network round trip.
std::optional<std::string> inStore(store::Store& store, const ImageArg& arg) {
  if (const auto* id = std::get_if<StoreIdArg>(&arg)) {
    if (auto r = store.findImage(id->id)) return r->id;
  }
  if (const auto* d = std::get_if<DockerArg>(&arg)) {
    auto ref = registry::DockerReference::parse(d->ref);
    if (ref.digest()) {
      if (auto r = store.findImage(ref.digest()->str())) return r->id;
    } else if (auto r = store.findByName({ref.name(), {}, ref.tag()})) {
      return r->id;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string fetchImage(store::Store& store, const ImageArg& arg, const FetchOptions& options) {
  if (options.policy != PullPolicy::kUpdate) {
    if (auto id = inStore(store, arg)) return *id;
  }
  if (options.policy == PullPolicy::kNever &&
      (std::holds_alternative<DockerArg>(arg) || std::holds_alternative<UrlArg>(arg) ||
       std::holds_alternative<AppcNameArg>(arg))) {
    throw Error(Errc::kNotFound,
                "cannot fetch " + describe(arg) + ": not in the store and --pull-policy=never");
  }
  FetchContext ctx{store, options};
  for (const auto& f : makeFetchers()) {
    if (!f->accepts(arg)) continue;
    auto hold = store.lockShared();
    try {
      return f->fetch(arg, ctx);
    } catch (const Error& e) {
      if (std::string_view(e.what()).rfind("cannot ", 0) == 0) throw;
      throw Error(e.code(), "cannot fetch " + describe(arg) + ": " + e.what());
    }
  }
  throw Error(Errc::kUnsupported, "cannot fetch " + describe(arg) +
                                      ": not supported yet (this transport arrives with the "
                                      "discovery and registry clients)");
}

}  // namespace ferry::fetch
