#include "stage0/fetch/fetch.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/error.hpp"
#include "discovery/appc_image_ref.hpp"
#include "discovery/reference.hpp"
#include "stage0/fetch/appc_fetchers.hpp"
#include "stage0/fetch/docker_fetcher.hpp"
#include "stage0/fetch/local_fetchers.hpp"

namespace ferry::fetch {

PullPolicy parsePullPolicy(std::string_view s) {
  if (s == "never") return PullPolicy::kNever;
  if (s == "new") return PullPolicy::kNew;
  if (s == "update") return PullPolicy::kUpdate;
  throw Error(Errc::kUsage, "--pull-policy: want never, new or update, not " + quote(s));
}

http::ClientOptions clientOptions(const FetchOptions& o) {
  http::ClientOptions h;
  h.verifyTls = !o.insecureTls;
  h.allowHttp = o.insecureHttp;
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca != nullptr && *ca != '\0') h.caFile = ca;
  h.hostAuthorization = o.hostAuthorization;
  return h;
}

std::string describeStatus(const FetchOptions& o, const http::Request& request,
                           const http::Response& response) {
  std::string out = http::describeStatus(request, response);
  if (response.status != 401 && response.status != 403) return out;
  std::string host = http::urlHost(response.url);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  bool configured =
      o.hostAuthorization.contains(host) ||
      (host.ends_with(":443") && o.hostAuthorization.contains(host.substr(0, host.size() - 4)));
  if (!http::isHttps(response.url) && configured) {
    return out + " (auth.d credentials for " + host + " are sent over https only)";
  }
  if (configured) return out + " (the server refused the auth.d credentials for " + host + ")";
  return out + " (no credentials for " + host + ": add an auth.d entry, see 'ferry config')";
}

std::vector<std::unique_ptr<Fetcher>> makeFetchers() {
  std::vector<std::unique_ptr<Fetcher>> out;
  addLocalFetchers(out);
  addAppcFetchers(out);
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
  if (const auto* n = std::get_if<AppcNameArg>(&arg)) {
    auto ref = discovery::parseAppcImageRef(n->text);
    store::NameQuery q{ref.name.str(), {}, {}};
    for (const auto& l : ref.labels) q.labels.emplace_back(l.name.str(), l.value);
    if (auto r = store.findByName(q)) return r->id;
  }
  if (const auto* u = std::get_if<UrlArg>(&arg)) {
    if (auto remote = store.remote(u->url)) {
      if (auto r = store.findImage(remote->imageId)) return r->id;
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
  if (!options.signature.empty() && !std::holds_alternative<LocalAciArg>(arg) &&
      !std::holds_alternative<UrlArg>(arg) && !std::holds_alternative<AppcNameArg>(arg)) {
    throw Error(Errc::kUnsupported,
                "cannot fetch " + describe(arg) +
                    " with --signature: only an ACI (a file, a URL or an appc name) has one");
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
  throw Error(Errc::kUnsupported, "cannot fetch " + describe(arg) + ": no fetcher for it");
}

}  // namespace ferry::fetch
