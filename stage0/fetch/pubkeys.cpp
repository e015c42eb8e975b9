#include "stage0/fetch/pubkeys.hpp"

#include "common/error.hpp"
#include "discovery/appc_discovery.hpp"
#include "discovery/http.hpp"
#include "formats/appc/names.hpp"

namespace ferry::fetch {

namespace {

constexpr uint64_t kMaxKeySize = 1 << 20;

std::vector<FetchedKey> get(const std::vector<std::string>& urls, const http::Client& client) {
  std::vector<FetchedKey> out;
  for (const auto& url : urls) {
    http::Request request;
    request.url = url;
    request.maxBodySize = kMaxKeySize;
    http::Response response = client.get(request);
    if (response.status < 200 || response.status >= 300) {
      throw Error(
          response.status == 404 ? Errc::kNotFound : Errc::kIo,
          "cannot fetch key " + quote(url) + ": " + http::describeStatus(request, response));
    }
    out.push_back({url, std::move(response.body)});
  }
  return out;
}

// Keys are fetched as images are, or over any connection with --insecure-options=pubkey.
http::ClientOptions keyClientOptions(const FetchOptions& options) {
  http::ClientOptions h = clientOptions(options);
  if (options.insecurePubkey) {
    h.allowHttp = true;
    h.verifyTls = false;
  }
  return h;
}

}  // namespace

std::vector<FetchedKey> fetchKeys(const std::vector<std::string>& urls,
                                  const FetchOptions& options) {
  http::Client client(keyClientOptions(options));
  return get(urls, client);
}

std::vector<FetchedKey> discoverKeys(std::string_view prefix, const FetchOptions& options) {
  appc::AcIdentifier name = appc::AcIdentifier::parse(prefix);
  http::Client client(keyClientOptions(options));
  discovery::DiscoverOptions d;
  d.insecureHttp = options.insecureHttp || options.insecurePubkey;
  discovery::DiscoveryResult found = discovery::discoverPublicKeys(name, client, d);
  return get(found.publicKeys, client);
}

}  // namespace ferry::fetch
