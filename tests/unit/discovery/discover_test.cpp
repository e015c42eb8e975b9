// discover() and discoverPublicKeys() against the in-process server. The names are real-looking
// (example.com/…); ClientOptions::connectTo sends port 80 to the test server and port 443 to a
// closed port, so https attempts fail quickly and http ones are served.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/error.hpp"
#include "discovery/appc_discovery.hpp"
#include "tests/unit/http_test_server.hpp"

namespace ferry::discovery {
namespace {

using test::HttpReply;
using test::HttpTestServer;

const appc::OciPlatform kAmd64{"linux", "amd64", ""};

constexpr const char* kAppPage = R"(<html><head>
<meta name="ac-discovery" content="example.com/app https://cdn.example.com/{os}/{arch}/{name}-{version}.{ext}">
<meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">
<meta name="ac-discovery-pubkeys" content="other.com https://other.com/pubkeys.gpg">
</head></html>)";

class DiscoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
      unsetenv(v);
    }
    closed_ = std::to_string(test::closedPort());
  }
  http::ClientOptions options() const {
    http::ClientOptions o;
    o.allowHttp = true;
    o.connectTimeoutSeconds = 5;
    for (const char* host : {"example.com", "cdn.example.com"}) {
      o.connectTo.push_back(std::string(host) + ":80:127.0.0.1:" + std::to_string(server_.port()));
      o.connectTo.push_back(std::string(host) + ":443:127.0.0.1:" + closed_);
    }
    return o;
  }
  static AppcImageRef ref(std::string_view s) { return parseAppcImageRef(s, kAmd64); }

  HttpTestServer server_;
  std::string closed_;
};

TEST_F(DiscoverTest, LongestPrefixFirstThenParents) {
  server_.route("/app?ac-discovery=1", HttpReply{200, {}, kAppPage});
  http::Client client(options());
  DiscoveryResult r = discover(ref("example.com/app/sub:1.0"), client, {.insecureHttp = true});
  EXPECT_EQ(r.prefix, "example.com/app");
  EXPECT_EQ(r.pageUrl, "http://example.com/app?ac-discovery=1");
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].aci, "https://cdn.example.com/linux/amd64/example.com/app/sub-1.0.aci");
  EXPECT_EQ(r.endpoints[0].asc,
            "https://cdn.example.com/linux/amd64/example.com/app/sub-1.0.aci.asc");
  EXPECT_EQ(r.publicKeys, std::vector<std::string>{"https://example.com/pubkeys.gpg"});
  // https then http for the longest prefix, then the parent.
  ASSERT_EQ(r.attempts.size(), 3u);  // the https attempt of the prefix that answered too
  EXPECT_EQ(r.attempts[0].rfind("cannot GET \"https://example.com/app/sub?ac-discovery=1\": ", 0),
            0u)
      << r.attempts[0];
  EXPECT_EQ(r.attempts[1], "GET \"http://example.com/app/sub?ac-discovery=1\": 404 Not Found");
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/app/sub?ac-discovery=1");
  EXPECT_EQ(seen[1].target, "/app?ac-discovery=1");
  EXPECT_EQ(seen[1].header("Host"), "example.com");
}

TEST_F(DiscoverTest, PageWithoutAMatchingTemplateSendsItToTheParent) {
  server_.route(
      "/app?ac-discovery=1",
      HttpReply{
          200,
          {},
          R"(<meta name="ac-discovery" content="example.com/app https://x/{name}-{channel}.{ext}">)"});
  server_.route(
      "/?ac-discovery=1",
      HttpReply{
          200,
          {},
          R"(<meta name="ac-discovery" content="example.com http://cdn.example.com/{name}.{ext}">)"});
  http::Client client(options());
  DiscoveryResult r = discover(ref("example.com/app"), client, {.insecureHttp = true});
  EXPECT_EQ(r.prefix, "example.com");
  EXPECT_EQ(r.endpoints,
            (std::vector<Endpoint>{{"http://cdn.example.com/example.com/app.aci",
                                    "http://cdn.example.com/example.com/app.aci.asc"}}));
  EXPECT_TRUE(r.publicKeys.empty());
  ASSERT_EQ(r.attempts.size(), 3u);  // the https attempt of the prefix that answered too
  EXPECT_EQ(r.attempts[1],
            "GET \"http://example.com/app?ac-discovery=1\": no ac-discovery template matched");
}

TEST_F(DiscoverTest, RedirectsAreFollowed) {
  server_.redirect("/app?ac-discovery=1", 301, "/discovery/app.html");
  server_.route("/discovery/app.html", HttpReply{200, {}, kAppPage});
  http::Client client(options());
  DiscoveryResult r = discover(ref("example.com/app:2"), client, {.insecureHttp = true});
  EXPECT_EQ(r.prefix, "example.com/app");
  ASSERT_EQ(r.endpoints.size(), 1u);
}

TEST_F(DiscoverTest, NothingFoundListsEveryAttempt) {
  http::Client client(options());
  try {
    discover(ref("example.com/app:1.0"), client, {.insecureHttp = true});
    FAIL() << "discovered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    std::string what = e.what();
    EXPECT_EQ(what.rfind("cannot discover image \"example.com/app:1.0,os=linux,arch=amd64\": no "
                         "ac-discovery template matched (tried cannot GET "
                         "\"https://example.com/app?ac-discovery=1\": ",
                         0),
              0u)
        << what;
    EXPECT_NE(
        what.find("; GET \"http://example.com/app?ac-discovery=1\": 404 Not Found; cannot GET "
                  "\"https://example.com?ac-discovery=1\": "),
        std::string::npos)
        << what;
    EXPECT_TRUE(what.ends_with("; GET \"http://example.com?ac-discovery=1\": 404 Not Found)"))
        << what;
  }
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(DiscoverTest, HttpOnlyWhenAsked) {
  server_.route("/app?ac-discovery=1", HttpReply{200, {}, kAppPage});
  http::Client client(options());
  EXPECT_THROW(discover(ref("example.com/app"), client), Error);
  EXPECT_EQ(server_.connections(), 0u);
  // Asked for, but the client does not allow plain http: refused before any traffic.
  http::ClientOptions strict = options();
  strict.allowHttp = false;
  http::Client strictClient(strict);
  try {
    discover(ref("example.com/app"), strictClient, {.insecureHttp = true});
    FAIL() << "discovered";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("plain http is not allowed"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(server_.connections(), 0u);
}

TEST_F(DiscoverTest, DepthLimitsThePrefixes) {
  server_.route("/?ac-discovery=1", HttpReply{200, {}, kAppPage});
  http::Client client(options());
  EXPECT_THROW(discover(ref("example.com/app/x"), client, {.insecureHttp = true, .depth = 2}),
               Error);
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].target, "/app?ac-discovery=1");
}

TEST_F(DiscoverTest, PublicKeys) {
  server_.route(
      "/app?ac-discovery=1",
      HttpReply{200,
                {},
                R"(<meta name="ac-discovery" content="example.com/app https://x/{name}.{ext}">)"});
  server_.route("/?ac-discovery=1", HttpReply{200, {}, kAppPage});
  http::Client client(options());
  DiscoveryResult r = discoverPublicKeys(appc::AcIdentifier::parse("example.com/app"), client,
                                         {.insecureHttp = true});
  EXPECT_EQ(r.prefix, "example.com");
  EXPECT_EQ(r.publicKeys, std::vector<std::string>{"https://example.com/pubkeys.gpg"});
  EXPECT_TRUE(r.endpoints.empty());

  try {
    discoverPublicKeys(appc::AcIdentifier::parse("cdn.example.com/x"), client,
                       {.insecureHttp = true});
    FAIL() << "discovered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kNotFound);
    EXPECT_EQ(
        std::string(e.what()).rfind("cannot discover public keys of \"cdn.example.com/x\": no "
                                    "ac-discovery-pubkeys tag matched (tried cannot GET "
                                    "\"https://cdn.example.com/x?ac-discovery=1\": ",
                                    0),
        0u)
        << e.what();
  }
}

}  // namespace
}  // namespace ferry::discovery
