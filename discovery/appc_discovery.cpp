#include "discovery/appc_discovery.hpp"

#include <functional>
#include <optional>

#include "common/error.hpp"

namespace ferry::discovery {

namespace {

// Discovery pages are small HTML documents.
constexpr uint64_t kMaxPageSize = 1 << 20;

struct Page {
  std::string url;
  std::vector<MetaTag> tags;
};

std::optional<Page> fetchPage(const std::string& prefix, const http::Client& client,
                              const DiscoverOptions& options, std::vector<std::string>& attempts) {
  std::vector<std::string_view> schemes{"https"};
  if (options.insecureHttp) schemes.push_back("http");
  for (std::string_view scheme : schemes) {
    http::Request request;
    request.url = discoveryUrl(scheme, prefix);
    request.headers = {{"Accept", "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"}};
    request.maxBodySize = kMaxPageSize;
    try {
      http::Response response = client.get(request);
      if (response.status >= 200 && response.status < 300) {
        return Page{request.url, parseMetaTags(response.body)};
      }
      attempts.push_back(http::describeStatus(request, response));
    } catch (const Error& e) {
      attempts.push_back(e.what());
    }
  }
  return std::nullopt;
}

std::string joinAttempts(const std::vector<std::string>& attempts) {
  std::string out;
  for (const auto& a : attempts) out += (out.empty() ? "" : "; ") + a;
  return out;
}

// Walks the prefixes of `name`; `take` fills the result from a page and says whether it is
// enough.
std::optional<DiscoveryResult> walk(std::string_view name, const http::Client& client,
                                    const DiscoverOptions& options, std::string_view missing,
                                    const std::function<bool(const Page&, DiscoveryResult&)>& take,
                                    std::vector<std::string>& attempts) {
  std::vector<std::string> prefixes = namePrefixes(name);
  if (options.depth > 0 && prefixes.size() > static_cast<size_t>(options.depth)) {
    prefixes.resize(static_cast<size_t>(options.depth));
  }
  for (const auto& prefix : prefixes) {
    std::optional<Page> page = fetchPage(prefix, client, options, attempts);
    if (!page) continue;
    DiscoveryResult result;
    if (take(*page, result)) {
      result.prefix = prefix;
      result.pageUrl = page->url;
      result.attempts = attempts;
      return result;
    }
    attempts.push_back("GET " + quote(page->url) + ": " + std::string(missing));
  }
  return std::nullopt;
}

}  // namespace

std::string discoveryUrl(std::string_view scheme, std::string_view prefix) {
  return std::string(scheme) + "://" + std::string(prefix) + "?ac-discovery=1";
}

DiscoveryResult discover(const AppcImageRef& ref, const http::Client& client,
                         const DiscoverOptions& options) {
  std::vector<std::string> attempts;
  auto take = [&ref](const Page& page, DiscoveryResult& result) {
    result.endpoints = renderEndpoints(page.tags, ref);
    result.publicKeys = publicKeyUrls(page.tags, ref.name.str());
    return !result.endpoints.empty();
  };
  auto result =
      walk(ref.name.str(), client, options, "no ac-discovery template matched", take, attempts);
  if (!result) {
    throw Error(Errc::kNotFound, "cannot discover image " + quote(ref.str()) +
                                     ": no ac-discovery template matched (tried " +
                                     joinAttempts(attempts) + ")");
  }
  return *result;
}

DiscoveryResult discoverPublicKeys(const appc::AcIdentifier& name, const http::Client& client,
                                   const DiscoverOptions& options) {
  std::vector<std::string> attempts;
  auto take = [&name](const Page& page, DiscoveryResult& result) {
    result.publicKeys = publicKeyUrls(page.tags, name.str());
    return !result.publicKeys.empty();
  };
  auto result =
      walk(name.str(), client, options, "no ac-discovery-pubkeys tag matched", take, attempts);
  if (!result) {
    throw Error(Errc::kNotFound, "cannot discover public keys of " + quote(name.str()) +
                                     ": no ac-discovery-pubkeys tag matched (tried " +
                                     joinAttempts(attempts) + ")");
  }
  return *result;
}

}  // namespace ferry::discovery
