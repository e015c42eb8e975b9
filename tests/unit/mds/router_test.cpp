#include "stage0/mds/router.hpp"

#include <gtest/gtest.h>

#include "tests/unit/mds/test_util.hpp"

namespace ferry::mds {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  Pod pod_ = parseRegistration(test::registration());
  HmacKey key_ = HmacKey::random();

  Response get(const std::string& path, const std::string& method = "GET") {
    return routePod(&pod_, key_, {method, "/" + std::string(test::kToken) + path, "", ""});
  }
  Response post(const std::string& path, const std::string& form,
                const std::string& type = "application/x-www-form-urlencoded") {
    return routePod(&pod_, key_, {"POST", "/" + std::string(test::kToken) + path, type, form});
  }
};

constexpr const char* kV1 = "/acMetadata/v1";

TEST_F(RouterTest, PodEndpoints) {
  Response r = get(std::string(kV1) + "/pod/uuid");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/plain; charset=us-ascii");
  EXPECT_EQ(r.body, test::kUuid);

  r = get(std::string(kV1) + "/pod/annotations");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(json::parse(r.body, "body"), json::parse(R"([{"name":"ip-address","value":"10.1.2.3"},
                            {"name":"example.com/role","value":"db"}])",
                                                     "want"));
  EXPECT_EQ(get(std::string(kV1) + "/pod/annotations/").body, r.body);

  r = get(std::string(kV1) + "/pod/annotations/ip-address");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/plain; charset=us-ascii");
  EXPECT_EQ(r.body, "10.1.2.3");
  EXPECT_EQ(get(std::string(kV1) + "/pod/annotations/example.com/role").body, "db");
  EXPECT_EQ(get(std::string(kV1) + "/pod/annotations/example.com%2Frole").body, "db");
  EXPECT_EQ(get(std::string(kV1) + "/pod/annotations/nope").status, 404);

  r = get(std::string(kV1) + "/pod/manifest");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(json::parse(r.body, "body")["apps"][1]["name"], "side");
}

TEST_F(RouterTest, AppEndpoints) {
  Response r = get(std::string(kV1) + "/apps/main/image/id");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/plain; charset=us-ascii");
  EXPECT_EQ(r.body, test::kMainId);

  r = get(std::string(kV1) + "/apps/side/image/manifest");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(json::parse(r.body, "body")["name"], "example.com/side");

  r = get(std::string(kV1) + "/apps/main/annotations");
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(json::parse(r.body, "body"),
            json::parse(R"([{"name":"authors","value":"Carly"},{"name":"lorem","value":"pod-wins"},
                            {"name":"extra","value":"x"}])",
                        "want"));
  EXPECT_EQ(get(std::string(kV1) + "/apps/side/annotations").body, "[]");
  EXPECT_EQ(get(std::string(kV1) + "/apps/main/annotations/lorem").body, "pod-wins");
  EXPECT_EQ(get(std::string(kV1) + "/apps/main/annotations/nope").status, 404);
  EXPECT_EQ(get(std::string(kV1) + "/apps/ghost/image/id").status, 404);
  EXPECT_EQ(get(std::string(kV1) + "/apps/main/image/other").status, 404);
  EXPECT_EQ(get(std::string(kV1) + "/apps/main").status, 404);
}

TEST_F(RouterTest, TokenAndPaths) {
  std::string wrong(64, 'f');
  EXPECT_EQ(routePod(&pod_, key_, {"GET", "/" + wrong + kV1 + "/pod/uuid", "", ""}).status, 401);
  EXPECT_EQ(routePod(&pod_, key_, {"GET", std::string(kV1) + "/pod/uuid", "", ""}).status, 401);
  EXPECT_EQ(routePod(&pod_, key_, {"GET", "/", "", ""}).status, 401);
  // A token that shares a prefix with the right one is still wrong.
  EXPECT_EQ(
      routePod(&pod_, key_,
               {"GET", "/" + std::string(test::kToken).substr(0, 63) + kV1 + "/pod/uuid", "", ""})
          .status,
      401);
  // An unregistered pod's listener answers nothing but 401.
  EXPECT_EQ(
      routePod(nullptr, key_, {"GET", "/" + std::string(test::kToken) + kV1 + "/pod/uuid", "", ""})
          .status,
      401);
  EXPECT_EQ(get("/acMetadata/v2/pod/uuid").status, 404);
  EXPECT_EQ(get("").status, 404);
  EXPECT_EQ(get(std::string(kV1) + "/pod/nothing").status, 404);
  EXPECT_EQ(get(std::string(kV1) + "/pod/uuid?x=1").body, test::kUuid);
}

TEST_F(RouterTest, Methods) {
  Response r = get(std::string(kV1) + "/pod/uuid", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
  EXPECT_EQ(get(std::string(kV1) + "/pod/uuid", "HEAD").status, 200);
  r = get(std::string(kV1) + "/pod/hmac/sign");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_EQ(get(std::string(kV1) + "/pod/hmac/verify").status, 405);
}

TEST_F(RouterTest, SignThenVerify) {
  Response s = post(std::string(kV1) + "/pod/hmac/sign", "content=Old+MacDonald+Had+A+Farm");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.contentType, "text/plain; charset=us-ascii");
  EXPECT_EQ(s.body, key_.sign(pod_.uuid, "Old MacDonald Had A Farm"));
  auto enc = [](const std::string& sig) {
    std::string out;
    for (char c : sig)
      out += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
    return out;
  };
  std::string good = "content=Old%20MacDonald%20Had%20A%20Farm&uuid=" + std::string(test::kUuid) +
                     "&signature=" + enc(s.body);
  Response v = post(std::string(kV1) + "/pod/hmac/verify", good);
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.contentType, "text/plain; charset=us-ascii");
  // The host listener verifies the same way, without a token.
  EXPECT_EQ(routeHost(key_, {"POST", "/acMetadata/v1/pod/hmac/verify",
                             "application/x-www-form-urlencoded", good})
                .status,
            200);
  // Tampered content, another pod's uuid, a broken signature.
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/verify",
                 "content=Old+MacDonald+Had+A+Farn&uuid=" + std::string(test::kUuid) +
                     "&signature=" + enc(s.body))
                .status,
            403);
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/verify",
                 "content=Old+MacDonald+Had+A+Farm&uuid=00000000-0000-4000-8000-000000000001"
                 "&signature=" +
                     enc(s.body))
                .status,
            403);
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/verify",
                 "content=x&uuid=" + std::string(test::kUuid) + "&signature=%%%")
                .status,
            400);
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/verify",
                 "content=x&uuid=" + std::string(test::kUuid) + "&signature=abc")
                .status,
            400);
  EXPECT_EQ(
      post(std::string(kV1) + "/pod/hmac/verify", "content=x&signature=" + enc(s.body)).status,
      400);
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/verify",
                 "content=x&uuid=not-a-uuid&signature=" + enc(s.body))
                .status,
            400);
  EXPECT_EQ(post(std::string(kV1) + "/pod/hmac/sign", "other=1").status, 400);
  // Form fields may come in the query string too (Go's FormValue).
  EXPECT_EQ(routePod(&pod_, key_,
                     {"POST", "/" + std::string(test::kToken) + kV1 + "/pod/hmac/sign?content=abc",
                      "", ""})
                .body,
            key_.sign(pod_.uuid, "abc"));
}

TEST(HostRouter, ServesOnlyVerify) {
  HmacKey key = HmacKey::random();
  EXPECT_EQ(routeHost(key, {"GET", "/acMetadata/v1/pod/uuid", "", ""}).status, 404);
  EXPECT_EQ(routeHost(key, {"POST", "/acMetadata/v1/pod/hmac/sign", "", "content=x"}).status, 404);
  EXPECT_EQ(routeHost(key, {"GET", "/acMetadata/v1/pod/hmac/verify", "", ""}).status, 405);
}

TEST(PercentDecode, FormsAndPaths) {
  EXPECT_EQ(percentDecode("a+b%2Fc", true), "a b/c");
  EXPECT_EQ(percentDecode("a+b%2fc", false), "a+b/c");
  EXPECT_FALSE(percentDecode("%", false));
  EXPECT_FALSE(percentDecode("%4", false));
  EXPECT_FALSE(percentDecode("%zz", false));
}

}  // namespace
}  // namespace ferry::mds
