// RegistryClient against a fake registry served by an in-process HTTP server.
#include "discovery/registry_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "formats/oci/media_types.hpp"
#include "tests/unit/http_test_server.hpp"

namespace ferry::registry {
namespace {

using test::HttpReply;
using test::HttpRequest;
using test::HttpTestServer;

oci::Platform linuxAmd64() { return oci::parsePlatform("linux/amd64"); }

std::string sha256(std::string_view s) { return Digest::of(DigestAlgorithm::kSha256, s).str(); }

std::string descriptorJson(std::string_view mediaType, std::string_view content,
                           std::string_view extra = "") {
  return R"({"mediaType":")" + std::string(mediaType) + R"(","digest":")" + sha256(content) +
         R"(","size":)" + std::to_string(content.size()) + std::string(extra) + "}";
}

std::string errorBody(std::string_view code, std::string_view message) {
  return R"({"errors":[{"code":")" + std::string(code) + R"(","message":")" + std::string(message) +
         R"(","detail":null}]})";
}

struct Image {
  std::string config;
  std::vector<std::string> layers;
  std::string manifest;
  std::string mediaType;

  std::vector<oci::Descriptor> layerDescriptors() const {
    std::vector<oci::Descriptor> out;
    for (const std::string& l : layers) {
      out.emplace_back(std::string(oci::media::kLayerTarGzip),
                       Digest::of(DigestAlgorithm::kSha256, l), static_cast<int64_t>(l.size()));
    }
    return out;
  }
};

Image makeImage(std::string_view arch, bool docker, int layerCount = 2) {
  Image img;
  std::string diffIds;
  for (int i = 0; i < layerCount; ++i) {
    std::string layer = "layer " + std::to_string(i) + " of " + std::string(arch) + " ";
    while (layer.size() < 20000 + static_cast<size_t>(i) * 7777) layer += layer;
    img.layers.push_back(layer);
    if (!diffIds.empty()) diffIds += ",";
    diffIds += "\"" + sha256(layer) + "\"";
  }
  img.config =
      R"({"architecture":")" + std::string(arch) +
      R"(","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[)" +
      diffIds + "]}}";
  img.mediaType = docker ? oci::media::kDockerManifest : oci::media::kImageManifest;
  std::string layersJson;
  for (const std::string& l : img.layers) {
    if (!layersJson.empty()) layersJson += ",";
    layersJson +=
        descriptorJson(docker ? oci::media::kDockerLayerTarGzip : oci::media::kLayerTarGzip, l);
  }
  img.manifest =
      R"({"schemaVersion":2,"mediaType":")" + img.mediaType + R"(","config":)" +
      descriptorJson(docker ? oci::media::kDockerConfig : oci::media::kImageConfig, img.config) +
      R"(,"layers":[)" + layersJson + "]}";
  return img;
}

// A registry v2 with one repository namespace per test, optional bearer or basic auth.
class FakeRegistry {
 public:
  enum class Auth { kNone, kBearer, kBasic };

  Auth auth = Auth::kNone;
  Credential user{"alice", "secret"};
  bool tokenNeedsCredentials = false;
  std::string token = "t0k3n";
  std::string realm;  // set once the server is up
  std::optional<std::string> contentDigestOverride;
  std::optional<std::string> blobRedirect;  // base URL blobs are redirected to
  std::atomic<int> tokenRequests{0};

  struct Served {
    std::string contentType;
    std::string body;
  };
  std::map<std::string, Served> manifests;        // "repo@ref"
  std::map<std::string, std::string> blobs;       // digest → body
  std::map<std::string, uint64_t> claimedLength;  // digest → Content-Length to claim
  std::set<std::string> slow;                     // digests answered after a pause

  void addManifest(const std::string& repo, const std::string& body, const std::string& type,
                   const std::optional<std::string>& tag = std::nullopt) {
    manifests[repo + "@" + sha256(body)] = {type, body};
    if (tag) manifests[repo + "@" + *tag] = {type, body};
  }
  void addImage(const std::string& repo, const Image& img,
                const std::optional<std::string>& tag = std::nullopt) {
    addManifest(repo, img.manifest, img.mediaType, tag);
    blobs[sha256(img.config)] = img.config;
    for (const std::string& l : img.layers) blobs[sha256(l)] = l;
  }

  HttpReply handle(const HttpRequest& r) {
    if (r.path == "/token") {
      ++tokenRequests;
      if (tokenNeedsCredentials && r.header("Authorization") != basicAuthorization(user)) {
        return {401,
                {{"Content-Type", "application/json"}},
                errorBody("UNAUTHORIZED", "incorrect username or password"),
                std::nullopt};
      }
      return {200,
              {{"Content-Type", "application/json"}},
              R"({"token":")" + token + R"(","expires_in":300})",
              std::nullopt};
    }
    if (!r.path.starts_with("/v2/")) return {404, {}, "", std::nullopt};
    std::string rest = r.path.substr(4);
    std::string repo;
    size_t at = rest.rfind("/manifests/");
    bool manifest = at != std::string::npos;
    if (!manifest) at = rest.rfind("/blobs/");
    if (at != std::string::npos) repo = rest.substr(0, at);
    if (!authorized(r)) {
      HttpReply reply{401, {}, errorBody("UNAUTHORIZED", "authentication required"), std::nullopt};
      if (auth == Auth::kBearer) {
        reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + realm +
                                                           "\",service=\"fake\",scope=\"" +
                                                           "repository:" + repo + ":pull\"");
      } else {
        reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"fake\"");
      }
      return reply;
    }
    if (rest.empty()) return {200, {}, "{}", std::nullopt};
    if (manifest) {
      std::string ref = rest.substr(at + 11);
      auto it = manifests.find(repo + "@" + ref);
      if (it == manifests.end()) {
        return {404,
                {{"Content-Type", "application/json"}},
                errorBody("MANIFEST_UNKNOWN", "manifest unknown"),
                std::nullopt};
      }
      return {200,
              {{"Content-Type", it->second.contentType},
               {"Docker-Content-Digest", contentDigestOverride.value_or(sha256(it->second.body))}},
              it->second.body,
              std::nullopt};
    }
    std::string digest = rest.substr(at + 7);
    auto it = blobs.find(digest);
    if (it == blobs.end()) {
      return {404, {}, errorBody("BLOB_UNKNOWN", "blob unknown to registry"), std::nullopt};
    }
    if (slow.contains(digest)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (blobRedirect) return {307, {{"Location", *blobRedirect + "/storage/" + digest}}, "", {}};
    HttpReply reply{200, {{"Content-Type", "application/octet-stream"}}, it->second, std::nullopt};
    if (auto c = claimedLength.find(digest); c != claimedLength.end()) {
      reply.contentLength = c->second;
    }
    return reply;
  }

 private:
  bool authorized(const HttpRequest& r) const {
    switch (auth) {
      case Auth::kNone:
        return true;
      case Auth::kBearer:
        return r.header("Authorization") == "Bearer " + token;
      case Auth::kBasic:
        return r.header("Authorization") == basicAuthorization(user);
    }
    return false;
  }
};

class RegistryClientTest : public ::testing::Test {
 protected:
  RegistryClientTest()
      : server_([this](const HttpRequest& r) { return registry_.handle(r); }),
        http_(httpOptions()) {
    registry_.realm = "http://" + server_.hostPort() + "/token";
  }

  static http::ClientOptions httpOptions() {
    http::ClientOptions o;
    o.allowHttp = true;
    o.connectTimeoutSeconds = 5;
    o.lowSpeedSeconds = 10;
    return o;
  }
  RegistryOptions options() const {
    RegistryOptions o;
    o.scheme = Scheme::kHttp;
    return o;
  }
  DockerReference ref(const std::string& rest) const {
    return DockerReference::parse("docker://" + server_.hostPort() + "/" + rest);
  }
  std::vector<HttpRequest> requestsTo(std::string_view prefix) const {
    std::vector<HttpRequest> out;
    for (HttpRequest& r : server_.requests()) {
      if (r.path.starts_with(prefix)) out.push_back(std::move(r));
    }
    return out;
  }

  FakeRegistry registry_;
  HttpTestServer server_;
  http::Client http_;
};

template <typename F>
Error expectError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(Errc::kIo, "no error");
}

TEST_F(RegistryClientTest, ResolvesDockerManifestAnonymously) {
  Image img = makeImage("amd64", /*docker=*/true);
  registry_.addImage("app", img, "1.0");
  RegistryClient client(http_, {}, options());
  ResolvedManifest m = client.resolve(ref("app:1.0"), oci::parsePlatform("linux/amd64"));
  EXPECT_EQ(m.digest.str(), sha256(img.manifest));
  EXPECT_EQ(m.mediaType, oci::media::kDockerManifest);
  EXPECT_EQ(m.bytes, img.manifest);
  EXPECT_FALSE(m.indexDigest);
  EXPECT_TRUE(m.manifest.isDocker());
  ASSERT_EQ(m.manifest.layers.size(), 2u);
  EXPECT_EQ(m.configBytes, img.config);
  EXPECT_EQ(m.config.architecture, "amd64");

  auto manifests = requestsTo("/v2/app/manifests/");
  ASSERT_EQ(manifests.size(), 1u);
  std::string accept = manifests[0].header("Accept").value_or("");
  for (std::string_view t : {oci::media::kImageManifest, oci::media::kImageIndex,
                             oci::media::kDockerManifest, oci::media::kDockerManifestList}) {
    EXPECT_NE(accept.find(t), std::string::npos) << t;
  }
  EXPECT_FALSE(manifests[0].header("Authorization"));
}

TEST_F(RegistryClientTest, ResolvesByDigestAndStreamsBlobs) {
  Image img = makeImage("amd64", /*docker=*/false);
  registry_.addImage("ns/app", img);
  RegistryClient client(http_, {}, options());
  DockerReference r = ref("ns/app@" + sha256(img.manifest));
  ResolvedManifest m = client.resolve(r, oci::parsePlatform("linux/amd64"));
  EXPECT_EQ(m.mediaType, oci::media::kImageManifest);
  EXPECT_FALSE(m.manifest.isDocker());

  std::string got;
  uint64_t lastProgress = 0;
  client.fetchBlob(
      r, m.manifest.layers[1], [&](const char* d, size_t n) { got.append(d, n); },
      [&](uint64_t done, std::optional<uint64_t> total) {
        lastProgress = done;
        EXPECT_EQ(total, img.layers[1].size());
      });
  EXPECT_EQ(got, img.layers[1]);
  EXPECT_EQ(lastProgress, img.layers[1].size());
}

TEST_F(RegistryClientTest, BearerTokenFlowAndCache) {
  registry_.auth = FakeRegistry::Auth::kBearer;
  Image img = makeImage("amd64", true);
  registry_.addImage("secure/app", img, "latest");
  RegistryClient client(http_, {}, options());
  DockerReference r = ref("secure/app");
  ResolvedManifest m = client.resolve(r, oci::parsePlatform("linux/amd64"));
  EXPECT_EQ(m.configBytes, img.config);
  for (const oci::Descriptor& d : m.manifest.layers) {
    std::string got;
    client.fetchBlob(r, d, [&](const char* p, size_t n) { got.append(p, n); });
  }
  // One token for the repository, reused for the config and both layers.
  EXPECT_EQ(registry_.tokenRequests.load(), 1);
  auto tokens = requestsTo("/token");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].queryParam("service"), "fake");
  EXPECT_EQ(tokens[0].queryParam("scope"), "repository:secure/app:pull");
  EXPECT_FALSE(tokens[0].header("Authorization"));  // anonymous: no credentials stored
  for (const HttpRequest& req : requestsTo("/v2/secure/app/blobs/")) {
    EXPECT_EQ(req.header("Authorization"), "Bearer t0k3n");
  }
  // The first manifest request went out bare (401), the retry with the token.
  auto manifests = requestsTo("/v2/secure/app/manifests/");
  ASSERT_EQ(manifests.size(), 2u);
  EXPECT_FALSE(manifests[0].header("Authorization"));
  EXPECT_EQ(manifests[1].header("Authorization"), "Bearer t0k3n");
}

TEST_F(RegistryClientTest, BearerTokenWithCredentials) {
  registry_.auth = FakeRegistry::Auth::kBearer;
  registry_.tokenNeedsCredentials = true;
  Image img = makeImage("amd64", true, 1);
  registry_.addImage("private", img, "v1");

  RegistryClient anonymous(http_, {}, options());
  Error e = expectError([&] { anonymous.resolve(ref("private:v1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kSecurity);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() +
                                       "/private:v1: manifest: token: 401 Unauthorized "
                                       "(UNAUTHORIZED: incorrect username or password)");

  Credentials creds;
  creds.add(server_.hostPort(), registry_.user);
  RegistryClient client(http_, creds, options());
  ResolvedManifest m = client.resolve(ref("private:v1"), linuxAmd64());
  EXPECT_EQ(m.bytes, img.manifest);
  auto tokens = requestsTo("/token");
  ASSERT_FALSE(tokens.empty());
  EXPECT_EQ(tokens.back().header("Authorization"), basicAuthorization(registry_.user));
  EXPECT_EQ(tokens.back().queryParam("account"), "alice");
}

TEST_F(RegistryClientTest, BasicAuth) {
  registry_.auth = FakeRegistry::Auth::kBasic;
  Image img = makeImage("amd64", false, 1);
  registry_.addImage("app", img, "1");

  RegistryClient anonymous(http_, {}, options());
  Error e = expectError([&] { anonymous.resolve(ref("app:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kSecurity);
  EXPECT_EQ(std::string(e.what()),
            "cannot fetch docker://" + server_.hostPort() +
                "/app:1: manifest: 401 Unauthorized (UNAUTHORIZED: authentication required): the "
                "registry asks for a user name and password, and no credentials are stored for " +
                quote(server_.hostPort()));

  Credentials wrong;
  wrong.add(server_.hostPort(), {"alice", "wrong"});
  RegistryClient bad(http_, wrong, options());
  e = expectError([&] { bad.resolve(ref("app:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kSecurity);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() +
                                       "/app:1: manifest: \"http://" + server_.hostPort() +
                                       "/v2/app/manifests/1\": 401 Unauthorized (UNAUTHORIZED: "
                                       "authentication required)");

  Credentials creds;
  creds.add("http://" + server_.hostPort() + "/v2/", registry_.user);
  RegistryClient client(http_, creds, options());
  ResolvedManifest m = client.resolve(ref("app:1"), linuxAmd64());
  EXPECT_EQ(m.configBytes, img.config);
  // After the first 401 the client sends the credentials up front.
  size_t before = server_.requests().size();
  client.fetchBlob(ref("app:1"), m.manifest.layers[0], [](const char*, size_t) {});
  EXPECT_EQ(server_.requests().size(), before + 1);
  EXPECT_EQ(server_.requests().back().header("Authorization"), basicAuthorization(registry_.user));
}

TEST_F(RegistryClientTest, IndexResolvedToPlatform) {
  Image amd = makeImage("amd64", false);
  Image arm = makeImage("arm64", false);
  registry_.addImage("multi", amd);
  registry_.addImage("multi", arm);
  std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
      descriptorJson(oci::media::kImageManifest, arm.manifest,
                     R"(,"platform":{"architecture":"arm64","os":"linux","variant":"v8"})") +
      "," +
      descriptorJson(oci::media::kImageManifest, amd.manifest,
                     R"(,"platform":{"architecture":"amd64","os":"linux"})") +
      "]}";
  registry_.addManifest("multi", index, std::string(oci::media::kImageIndex), "latest");
  RegistryClient client(http_, {}, options());

  ResolvedManifest m = client.resolve(ref("multi"), oci::parsePlatform("linux/amd64"));
  EXPECT_EQ(m.digest.str(), sha256(amd.manifest));
  EXPECT_EQ(m.indexDigest->str(), sha256(index));
  EXPECT_EQ(m.config.architecture, "amd64");
  auto manifests = requestsTo("/v2/multi/manifests/");
  ASSERT_EQ(manifests.size(), 2u);
  EXPECT_EQ(manifests[0].path, "/v2/multi/manifests/latest");
  EXPECT_EQ(manifests[1].path, "/v2/multi/manifests/" + sha256(amd.manifest));

  m = client.resolve(ref("multi"), oci::parsePlatform("linux/arm64"));
  EXPECT_EQ(m.config.architecture, "arm64");

  Error e = expectError([&] { client.resolve(ref("multi"), oci::parsePlatform("linux/s390x")); });
  EXPECT_EQ(e.code(), Errc::kNotFound);
  EXPECT_TRUE(std::string_view(e.what()).starts_with("cannot fetch docker://" + server_.hostPort() +
                                                     "/multi:latest: "
                                                     "manifest: "))
      << e.what();
}

TEST_F(RegistryClientTest, IndexEntryWithWrongSize) {
  Image amd = makeImage("amd64", true);
  registry_.addImage("list", amd);
  std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
      sha256(amd.manifest) + R"(","size":)" + std::to_string(amd.manifest.size() + 1) +
      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  registry_.addManifest("list", index, std::string(oci::media::kDockerManifestList), "latest");
  RegistryClient client(http_, {}, options());
  Error e = expectError([&] { client.resolve(ref("list"), oci::parsePlatform("linux/amd64")); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()),
            "cannot fetch docker://" + server_.hostPort() + "/list:latest: manifest " +
                sha256(amd.manifest) + " for linux/amd64: it has " +
                std::to_string(amd.manifest.size()) + " bytes, the index says " +
                std::to_string(amd.manifest.size() + 1));
}

TEST_F(RegistryClientTest, ManifestDigestMismatch) {
  Image img = makeImage("amd64", true, 1);
  Image other = makeImage("arm64", true, 1);
  registry_.addImage("app", img, "1");
  // The registry serves other bytes under img's digest.
  registry_.manifests["app@" + sha256(img.manifest)] = {img.mediaType, other.manifest};
  RegistryClient client(http_, {}, options());
  Error e = expectError([&] { client.resolve(ref("app@" + sha256(img.manifest)), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()),
            "cannot fetch docker://" + server_.hostPort() + "/app@" + sha256(img.manifest) +
                ": manifest: the registry sent content with digest " + sha256(other.manifest));

  // A Docker-Content-Digest header that disagrees with the bytes.
  registry_.contentDigestOverride = sha256("something else");
  e = expectError([&] { client.resolve(ref("app:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() +
                                       "/app:1: manifest: Docker-Content-Digest says " +
                                       sha256("something else") + " but the content hashes to " +
                                       sha256(img.manifest));
}

TEST_F(RegistryClientTest, ConfigDigestMismatch) {
  Image img = makeImage("amd64", true, 1);
  registry_.addImage("app", img, "1");
  std::string bad = img.config;
  bad[1] = ' ';
  registry_.blobs[sha256(img.config)] = bad;
  RegistryClient client(http_, {}, options());
  Error e = expectError([&] { client.resolve(ref("app:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() +
                                       "/app:1: config " + sha256(img.config) +
                                       ": the content hashes to " + sha256(bad));
}

TEST_F(RegistryClientTest, BlobDigestMismatchTruncationAndExcess) {
  Image img = makeImage("amd64", false, 3);
  registry_.addImage("app", img, "1");
  auto layers = img.layerDescriptors();
  std::string prefix = "cannot fetch docker://" + server_.hostPort() + "/app:1: blob ";
  RegistryClient client(http_, {}, options());
  DockerReference r = ref("app:1");
  auto discard = [](const char*, size_t) {};

  // Same size, other bytes.
  std::string flipped = img.layers[0];
  flipped[100] ^= 1;
  registry_.blobs[layers[0].digest.str()] = flipped;
  Error e = expectError([&] { client.fetchBlob(r, layers[0], discard); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()),
            prefix + layers[0].digest.str() + ": the content hashes to " + sha256(flipped));

  // A short blob that the server sends completely.
  registry_.blobs[layers[1].digest.str()] = img.layers[1].substr(0, 1000);
  e = expectError([&] { client.fetchBlob(r, layers[1], discard); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()), prefix + layers[1].digest.str() + ": truncated: 1000 of " +
                                       std::to_string(layers[1].size) + " bytes");

  // A connection cut in the middle (Content-Length promises the whole blob).
  registry_.claimedLength[layers[1].digest.str()] = img.layers[1].size();
  e = expectError([&] { client.fetchBlob(r, layers[1], discard); });
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_TRUE(std::string_view(e.what()).starts_with(prefix + layers[1].digest.str() + ": "))
      << e.what();

  // More bytes than the descriptor: refused before the sink sees them.
  registry_.blobs[layers[2].digest.str()] = img.layers[2] + "extra";
  uint64_t delivered = 0;
  e = expectError(
      [&] { client.fetchBlob(r, layers[2], [&](const char*, size_t n) { delivered += n; }); });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()), prefix + layers[2].digest.str() +
                                       ": the registry sent more than the " +
                                       std::to_string(layers[2].size) + " bytes of the descriptor");
  EXPECT_LE(delivered, static_cast<uint64_t>(layers[2].size));
}

TEST_F(RegistryClientTest, NotFoundWithRegistryError) {
  RegistryClient client(http_, {}, options());
  Error e = expectError([&] { client.resolve(ref("x:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kNotFound);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() +
                                       "/x:1: manifest: \"" + "http://" + server_.hostPort() +
                                       "/v2/x/manifests/1" +
                                       "\": 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)");
  oci::Descriptor missing(std::string(oci::media::kLayerTarGzip),
                          Digest::of(DigestAlgorithm::kSha256, "nope"), 4);
  e = expectError([&] { client.fetchBlob(ref("x:1"), missing, [](const char*, size_t) {}); });
  EXPECT_EQ(e.code(), Errc::kNotFound);
  EXPECT_EQ(std::string(e.what()),
            "cannot fetch docker://" + server_.hostPort() + "/x:1: blob " + missing.digest.str() +
                ": \"" + "http://" + server_.hostPort() + "/v2/x/blobs/" + missing.digest.str() +
                "\": 404 Not Found (BLOB_UNKNOWN: blob unknown to registry)");
}

TEST_F(RegistryClientTest, Schema1IsUnsupported) {
  registry_.addManifest("old", R"({"schemaVersion":1,"name":"old","tag":"1","fsLayers":[]})",
                        "application/vnd.docker.distribution.manifest.v1+prettyjws", "1");
  registry_.addManifest("old2", R"({"schemaVersion":1,"name":"old","tag":"1","fsLayers":[]})",
                        "application/json", "1");
  RegistryClient client(http_, {}, options());
  for (const char* name : {"old:1", "old2:1"}) {
    Error e = expectError([&] { client.resolve(ref(name), linuxAmd64()); });
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("schema 1 is not supported"), std::string::npos);
  }
}

TEST_F(RegistryClientTest, ManifestTypeFromShapeWhenContentTypeIsGeneric) {
  Image img = makeImage("amd64", false, 1);
  // OCI manifests may omit mediaType; the registry says application/json.
  std::string bare = img.manifest;
  bare.replace(
      bare.find(R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)"),
      std::string_view(R"("mediaType":"application/vnd.oci.image.manifest.v1+json",)").size(), "");
  registry_.addImage("app", img);
  registry_.addManifest("app", bare, "application/json", "bare");
  RegistryClient client(http_, {}, options());
  ResolvedManifest m = client.resolve(ref("app:bare"), linuxAmd64());
  EXPECT_EQ(m.mediaType, oci::media::kImageManifest);
  EXPECT_EQ(m.bytes, bare);
}

TEST_F(RegistryClientTest, BlobRedirectToStorageDropsAuthorization) {
  std::vector<std::string> storageAuth;
  std::mutex mutex;
  Image img = makeImage("amd64", true, 1);
  HttpTestServer storage([&](const HttpRequest& r) {
    std::lock_guard lock(mutex);
    storageAuth.push_back(r.header("Authorization").value_or("(none)"));
    std::string digest = r.path.substr(std::string_view("/storage/").size());
    return HttpReply{200, {}, registry_.blobs.at(digest), std::nullopt};
  });
  registry_.auth = FakeRegistry::Auth::kBearer;
  registry_.addImage("app", img, "1");
  registry_.blobRedirect = "http://" + storage.hostPort();
  RegistryClient client(http_, {}, options());
  ResolvedManifest m = client.resolve(ref("app:1"), linuxAmd64());
  std::string got;
  client.fetchBlob(ref("app:1"), m.manifest.layers[0],
                   [&](const char* p, size_t n) { got.append(p, n); });
  EXPECT_EQ(got, img.layers[0]);
  ASSERT_EQ(storageAuth.size(), 2u);  // config and layer
  EXPECT_EQ(storageAuth[0], "(none)");
  EXPECT_EQ(storageAuth[1], "(none)");
}

TEST_F(RegistryClientTest, FetchBlobsInParallel) {
  Image img = makeImage("amd64", false, 7);
  registry_.auth = FakeRegistry::Auth::kBearer;
  registry_.addImage("app", img, "1");
  RegistryClient client(http_, {}, options());
  auto layers = img.layerDescriptors();
  std::vector<std::string> got(layers.size());
  std::vector<int> finished(layers.size(), 0);
  std::map<size_t, uint64_t> progress;
  std::atomic<int> calls{0};
  client.fetchBlobs(
      ref("app:1"), layers,
      [&](size_t i, const oci::Descriptor& d) {
        EXPECT_EQ(d.digest, layers[i].digest);
        return BlobTarget{[&got, i](const char* p, size_t n) { got[i].append(p, n); },
                          [&finished, i] { ++finished[i]; }};
      },
      3,
      [&](size_t i, uint64_t done, uint64_t total) {
        ++calls;
        EXPECT_EQ(total, static_cast<uint64_t>(layers[i].size));
        progress[i] = done;  // serialized by fetchBlobs
      });
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(got[i], img.layers[i]) << i;
    EXPECT_EQ(finished[i], 1) << i;
    EXPECT_EQ(progress[i], static_cast<uint64_t>(layers[i].size)) << i;
  }
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(registry_.tokenRequests.load(), 1);
}

TEST_F(RegistryClientTest, FetchBlobsFirstErrorWins) {
  Image img = makeImage("amd64", false, 6);
  registry_.addImage("app", img, "1");
  auto layers = img.layerDescriptors();
  // Blob 2 is corrupt and quick; the others take a while, so that 3 is in flight when 2 fails.
  std::string bad = img.layers[2];
  bad[0] ^= 1;
  registry_.blobs[layers[2].digest.str()] = bad;
  for (size_t i : {0, 1, 3, 4, 5}) registry_.slow.insert(layers[i].digest.str());
  RegistryClient client(http_, {}, options());
  std::vector<std::atomic<int>> finished(layers.size());
  Error e = expectError([&] {
    client.fetchBlobs(
        ref("app:1"), layers,
        [&](size_t i, const oci::Descriptor&) {
          return BlobTarget{[](const char*, size_t) {}, [&finished, i] { ++finished[i]; }};
        },
        2);
  });
  EXPECT_EQ(e.code(), Errc::kDigestMismatch);
  EXPECT_EQ(std::string(e.what()), "cannot fetch docker://" + server_.hostPort() + "/app:1: blob " +
                                       layers[2].digest.str() + ": the content hashes to " +
                                       sha256(bad));
  EXPECT_EQ(finished[2].load(), 0);
  EXPECT_EQ(finished[3].load(), 0);  // in flight, aborted
  // Blobs after the failure are never requested.
  for (const HttpRequest& r : requestsTo("/v2/app/blobs/")) {
    EXPECT_FALSE(r.path.ends_with(layers[4].digest.str()));
    EXPECT_FALSE(r.path.ends_with(layers[5].digest.str()));
  }
}

TEST_F(RegistryClientTest, AutoSchemeFallsBackToHttp) {
  Image img = makeImage("amd64", false, 1);
  registry_.addImage("app", img, "1");
  RegistryOptions o;
  o.scheme = Scheme::kAuto;
  RegistryClient client(http_, {}, o);
  ResolvedManifest m = client.resolve(ref("app:1"), linuxAmd64());
  EXPECT_EQ(m.bytes, img.manifest);

  // Without allowHttp, kAuto means https only.
  http::Client strict;
  RegistryClient httpsOnly(strict, {}, o);
  Error e = expectError([&] { httpsOnly.resolve(ref("app:1"), linuxAmd64()); });
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_TRUE(std::string_view(e.what()).starts_with("cannot fetch docker://" + server_.hostPort() +
                                                     "/app:1: manifest: "))
      << e.what();
}

}  // namespace
}  // namespace ferry::registry
