#include "discovery/registry_client.hpp"

#include <string>

#include "common/error.hpp"
#include "common/json.hpp"
#include "formats/oci/index.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::registry {

namespace {

constexpr std::string_view kSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
constexpr std::string_view kSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
constexpr int kMaxIndexDepth = 3;
constexpr uint64_t kMaxTokenResponse = 1 << 20;
// distribution's token spec: a token without expires_in lives 60 seconds, and no less.
constexpr std::chrono::seconds kMinTokenLifetime{60};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "application/json; charset=utf-8" → "application/json".
std::string bareMediaType(std::string_view contentType) {
  std::string_view t = contentType.substr(0, contentType.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return lower(t);
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string pullScope(const DockerReference& ref) {
  return "repository:" + ref.repository() + ":pull";
}

bool isSchema1(std::string_view mediaType) {
  return mediaType == kSchema1 || mediaType == kSchema1Signed;
}

}  // namespace

RegistryClient::RegistryClient(const http::Client& http, Credentials credentials,
                               RegistryOptions options)
    : http_(http), credentials_(std::move(credentials)), options_(options) {}

std::string RegistryClient::baseUrl(const DockerReference& ref) const {
  std::string host = ref.apiHost();
  switch (options_.scheme) {
    case Scheme::kHttps:
      return "https://" + host;
    case Scheme::kHttp:
      return "http://" + host;
    case Scheme::kAuto:
      break;
  }
  if (!http_.options().allowHttp) return "https://" + host;
  {
    std::lock_guard lock(mutex_);
    if (auto it = schemes_.find(host); it != schemes_.end()) return it->second + "://" + host;
  }
  // Docker's ping: any HTTP answer from https://host/v2/ (even 401 or 404) settles it; a
  // transport failure (nothing listening, no TLS) means plain http, which the user allowed.
  std::string scheme = "https";
  try {
    http::Request ping;
    ping.url = "https://" + host + "/v2/";
    ping.maxBodySize = 64 << 10;
    http_.get(ping);
  } catch (const Error& e) {
    if (e.code() != Errc::kIo && e.code() != Errc::kLimit) throw;
    if (e.code() == Errc::kIo) scheme = "http";
  }
  std::lock_guard lock(mutex_);
  schemes_.emplace(host, scheme);
  return scheme + "://" + host;
}

std::optional<std::string> RegistryClient::cachedAuthorization(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = auth_.find(key);
  if (it == auth_.end()) return std::nullopt;
  if (it->second.expires && std::chrono::steady_clock::now() >= *it->second.expires) {
    auth_.erase(it);
    return std::nullopt;
  }
  return it->second.authorization;
}

http::Response RegistryClient::exchange(const DockerReference& ref, const std::string& path,
                                        const http::Headers& headers, std::string_view what,
                                        const Send& send) const {
  const std::string key = ref.registry() + " " + pullScope(ref);
  http::Request request;
  request.url = baseUrl(ref) + "/v2/" + path;
  auto attempt = [&](const std::optional<std::string>& authorization) {
    request.headers = headers;
    if (authorization) request.headers.emplace_back("Authorization", *authorization);
    try {
      return send(request);
    } catch (const Error& e) {
      // Our own verification errors already name the reference; transport errors get it here.
      std::string_view message = e.what();
      if (message.starts_with("cannot fetch " + ref.str() + ":")) throw;
      throw fetchError(e.code(), ref, what, message);
    }
  };
  std::optional<std::string> sent = cachedAuthorization(key);
  http::Response response = attempt(sent);
  if (response.status != 401) return response;
  return attempt(authorize(ref, response, key, sent, what));
}

std::string RegistryClient::authorize(const DockerReference& ref,
                                      const http::Response& unauthorized, const std::string& key,
                                      const std::optional<std::string>& sent,
                                      std::string_view what) const {
  std::lock_guard authLock(authMutex_);
  // Another request authenticated while this one waited: use its result.
  if (std::optional<std::string> cached = cachedAuthorization(key); cached && cached != sent) {
    return *cached;
  }
  std::vector<Challenge> challenges;
  for (const auto& [name, value] : unauthorized.headers) {
    if (lower(name) != "www-authenticate") continue;
    try {
      for (Challenge& c : parseChallenges(value)) challenges.push_back(std::move(c));
    } catch (const Error& e) {
      throw fetchError(Errc::kInvalid, ref, what, e.what());
    }
  }
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  CachedAuth cached;
  if (bearer != nullptr) {
    std::optional<std::string> realm = bearer->param("realm");
    if (!realm || realm->empty()) {
      throw fetchError(Errc::kInvalid, ref, what, "the Bearer challenge names no realm");
    }
    std::string scope = bearer->param("scope").value_or(pullScope(ref));
    Token token = fetchToken(ref, http::resolveUrl(unauthorized.url, *realm),
                             bearer->param("service"), scope, what);
    cached.authorization = "Bearer " + token.value;
    cached.expires = std::chrono::steady_clock::now() + token.lifetime;
  } else if (basic != nullptr) {
    std::optional<Credential> credential = credentials_.find(ref.registry(), ref.repository());
    if (!credential) {
      throw fetchError(Errc::kSecurity, ref, what,
                       describeRegistryError(unauthorized) +
                           ": the registry asks for a user name and password, and no "
                           "credentials are stored for " +
                           quote(ref.registry()));
    }
    cached.authorization = basicAuthorization(*credential);
  } else if (challenges.empty()) {
    throw fetchError(Errc::kSecurity, ref, what,
                     describeRegistryError(unauthorized) + " without a WWW-Authenticate challenge");
  } else {
    throw fetchError(Errc::kUnsupported, ref, what,
                     "unsupported authentication scheme " + quote(challenges.front().scheme));
  }
  std::lock_guard lock(mutex_);
  auth_[key] = cached;
  return cached.authorization;
}

RegistryClient::Token RegistryClient::fetchToken(const DockerReference& ref,
                                                 const std::string& realm,
                                                 const std::optional<std::string>& service,
                                                 const std::string& scope,
                                                 std::string_view what) const {
  std::string tokenWhat = std::string(what) + ": token";
  http::Request request;
  request.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (service) request.url += "service=" + percentEncode(*service) + "&";
  request.url += "scope=" + percentEncode(scope);
  request.maxBodySize = kMaxTokenResponse;
  if (std::optional<Credential> c = credentials_.find(ref.registry(), ref.repository())) {
    request.url += "&account=" + percentEncode(c->username);
    request.headers.emplace_back("Authorization", basicAuthorization(*c));
  }
  http::Response response;
  try {
    response = http_.get(request);
  } catch (const Error& e) {
    throw fetchError(e.code(), ref, tokenWhat, e.what());
  }
  if (response.status != 200) {
    // (Not statusError: the token URL carries the account name; the realm is named elsewhere.)
    throw fetchError(statusErrc(response.status), ref, tokenWhat, describeRegistryError(response));
  }

  Token token{"", kMinTokenLifetime};
  try {
    json::Json doc = json::parse(response.body, "token response");
    if (!doc.is_object()) json::fail("", "token response must be an object");
    // "token" per the spec; "access_token" for OAuth 2 compatibility. Either may be absent.
    for (const char* name : {"token", "access_token"}) {
      if (auto it = doc.find(name); it != doc.end() && !it->is_null()) {
        token.value = json::asString(*it, name);
        if (!token.value.empty()) break;
      }
    }
    if (auto it = doc.find("expires_in"); it != doc.end() && !it->is_null()) {
      token.lifetime = std::max(kMinTokenLifetime,
                                std::chrono::seconds(json::asInt(*it, "expires_in", 0, 1 << 30)));
    }
  } catch (const Error& e) {
    throw fetchError(Errc::kInvalid, ref, tokenWhat, e.what());
  }
  if (token.value.empty()) {
    throw fetchError(Errc::kInvalid, ref, tokenWhat, "the token server sent no token");
  }
  // Never inject a header through a hostile token.
  for (char c : token.value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw fetchError(Errc::kInvalid, ref, tokenWhat, "the token holds control characters");
    }
  }
  return token;
}

FetchedManifest RegistryClient::fetchManifest(const DockerReference& ref,
                                              std::string_view reference) const {
  std::string what = "manifest";
  if (reference != ref.manifestReference()) what += " " + std::string(reference);
  return fetchManifestAs(ref, reference, what);
}

FetchedManifest RegistryClient::fetchManifestAs(const DockerReference& ref,
                                                std::string_view reference,
                                                std::string_view what) const {
  std::optional<Digest> wanted;
  if (reference.find(':') != std::string_view::npos) {
    try {
      wanted = Digest::parse(reference);
    } catch (const Error& e) {
      throw fetchError(Errc::kInvalid, ref, what, e.what());
    }
  } else if (!isValidTag(reference)) {
    throw fetchError(Errc::kInvalid, ref, what, "invalid tag " + quote(reference));
  }
  std::string accept;
  for (std::string_view t : {oci::media::kImageManifest, oci::media::kImageIndex,
                             oci::media::kDockerManifest, oci::media::kDockerManifestList}) {
    if (!accept.empty()) accept += ", ";
    accept += t;
  }
  http::Response response = exchange(ref, ref.repository() + "/manifests/" + std::string(reference),
                                     {{"Accept", accept}}, what, [&](const http::Request& r) {
                                       http::Request q = r;
                                       q.maxBodySize = options_.maxManifestSize;
                                       return http_.get(q);
                                     });
  if (response.status != 200) throw statusError(ref, what, response);

  DigestAlgorithm algorithm = wanted ? wanted->algorithm() : DigestAlgorithm::kSha256;
  FetchedManifest out{Digest::of(algorithm, response.body), "", std::move(response.body)};
  if (wanted && out.digest != *wanted) {
    throw fetchError(Errc::kDigestMismatch, ref, what,
                     "the registry sent content with digest " + out.digest.str());
  }
  if (std::optional<std::string> header = response.header("Docker-Content-Digest")) {
    Digest claimed = out.digest;
    try {
      claimed = Digest::parse(*header);
    } catch (const Error& e) {
      throw fetchError(Errc::kInvalid, ref, what,
                       "invalid Docker-Content-Digest header: " + std::string(e.what()));
    }
    Digest actual =
        claimed.algorithm() == algorithm ? out.digest : Digest::of(claimed.algorithm(), out.bytes);
    if (actual != claimed) {
      throw fetchError(Errc::kDigestMismatch, ref, what,
                       "Docker-Content-Digest says " + claimed.str() +
                           " but the content hashes to " + actual.str());
    }
  }

  // The document's own mediaType wins; then Content-Type; then the document's shape (OCI makes
  // mediaType optional, and some registries send application/json).
  json::Json doc;
  try {
    doc = json::parse(out.bytes, "manifest");
  } catch (const Error& e) {
    throw fetchError(Errc::kInvalid, ref, what, e.what());
  }
  if (!doc.is_object()) throw fetchError(Errc::kInvalid, ref, what, "not a JSON object");
  std::string contentType = bareMediaType(response.header("Content-Type").value_or(""));
  std::string bodyType;
  if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string()) bodyType = *it;
  auto schema = doc.find("schemaVersion");
  if (isSchema1(bodyType) || isSchema1(contentType) ||
      (schema != doc.end() && *schema == json::Json(1))) {
    throw fetchError(Errc::kUnsupported, ref, what,
                     "Docker image manifest schema 1 is not supported (push the image with a "
                     "current Docker or as OCI)");
  }
  if (!bodyType.empty()) {
    out.mediaType = bodyType;
  } else if (oci::isManifest(contentType) || oci::isIndex(contentType)) {
    out.mediaType = contentType;
  } else if (doc.contains("manifests")) {
    out.mediaType = oci::media::kImageIndex;
  } else if (doc.contains("config") && doc.contains("layers")) {
    out.mediaType = oci::media::kImageManifest;
  } else {
    throw fetchError(Errc::kUnsupported, ref, what,
                     "unknown kind of manifest (Content-Type " + quote(contentType) + ")");
  }
  if (!oci::isManifest(out.mediaType) && !oci::isIndex(out.mediaType)) {
    throw fetchError(Errc::kUnsupported, ref, what,
                     "unsupported manifest media type " + quote(out.mediaType));
  }
  return out;
}

ResolvedManifest RegistryClient::resolve(const DockerReference& ref,
                                         const oci::Platform& platform) const {
  std::string what = "manifest";
  FetchedManifest current = fetchManifestAs(ref, ref.manifestReference(), what);
  std::optional<Digest> indexDigest;
  for (int depth = 0; oci::isIndex(current.mediaType); ++depth) {
    if (depth == kMaxIndexDepth) {
      throw fetchError(Errc::kUnsupported, ref, what, "image indexes nested too deeply");
    }
    if (!indexDigest) indexDigest = current.digest;
    oci::Descriptor chosen("", current.digest, 0);
    try {
      oci::ImageIndex index = oci::ImageIndex::parse(current.bytes, "image index");
      chosen = oci::selectManifest(index, platform);
    } catch (const Error& e) {
      throw fetchError(e.code(), ref, what, e.what());
    }
    what = "manifest " + chosen.digest.str() + " for " + platform.str();
    if (chosen.size < 0 || static_cast<uint64_t>(chosen.size) > options_.maxManifestSize) {
      throw fetchError(Errc::kLimit, ref, what,
                       "the index gives it " + std::to_string(chosen.size) + " bytes, more than " +
                           std::to_string(options_.maxManifestSize));
    }
    current = fetchManifestAs(ref, chosen.digest.str(), what);
    if (current.bytes.size() != static_cast<uint64_t>(chosen.size)) {
      throw fetchError(Errc::kDigestMismatch, ref, what,
                       "it has " + std::to_string(current.bytes.size()) +
                           " bytes, the index says " + std::to_string(chosen.size));
    }
  }

  std::optional<oci::ImageManifest> manifest;
  try {
    manifest = oci::ImageManifest::parse(current.bytes, "image manifest");
  } catch (const Error& e) {
    throw fetchError(e.code(), ref, what, e.what());
  }
  const oci::Descriptor& configDescriptor = manifest->config;
  std::string configWhat = "config " + configDescriptor.digest.str();
  if (!oci::isConfig(configDescriptor.mediaType)) {
    throw fetchError(
        Errc::kUnsupported, ref, configWhat,
        "not a container image (config media type " + quote(configDescriptor.mediaType) + ")");
  }
  if (static_cast<uint64_t>(configDescriptor.size) > options_.maxConfigSize) {
    throw fetchError(Errc::kLimit, ref, configWhat,
                     std::to_string(configDescriptor.size) + " bytes is more than " +
                         std::to_string(options_.maxConfigSize));
  }
  std::string configBytes;
  configBytes.reserve(static_cast<size_t>(configDescriptor.size));
  fetchBlobAs(
      ref, configDescriptor, [&](const char* data, size_t size) { configBytes.append(data, size); },
      {}, configWhat);
  std::optional<oci::ImageConfig> config;
  try {
    config = oci::ImageConfig::parse(configBytes, "image config");
  } catch (const Error& e) {
    throw fetchError(e.code(), ref, configWhat, e.what());
  }
  return ResolvedManifest{current.digest,       current.mediaType, std::move(current.bytes),
                          std::move(*manifest), indexDigest,       std::move(configBytes),
                          std::move(*config)};
}

}  // namespace ferry::registry
