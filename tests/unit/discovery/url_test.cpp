#include <gtest/gtest.h>

#include "discovery/http.hpp"

namespace ferry::http {
namespace {

struct Case {
  const char* ref;
  const char* want;
};

// RFC 3986 §5.4.1 and §5.4.2.
TEST(ResolveUrl, Rfc3986Examples) {
  const char* base = "http://a/b/c/d;p?q";
  const Case cases[] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},
  };
  for (const auto& c : cases) EXPECT_EQ(resolveUrl(base, c.ref), c.want) << c.ref;
}

TEST(ResolveUrl, LocationsSeenInPractice) {
  const Case cases[] = {
      {"https://storage.example.com/blob?sig=1", "https://storage.example.com/blob?sig=1"},
      {"//cdn.example.com/x", "https://cdn.example.com/x"},
      {"/v2/token?service=registry", "https://reg.example.com/v2/token?service=registry"},
      {"other", "https://reg.example.com/v2/lib/other"},
      {"?n=2", "https://reg.example.com/v2/lib/tags?n=2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(resolveUrl("https://reg.example.com/v2/lib/tags?n=1", c.ref), c.want) << c.ref;
  }
  // A base without a path: the reference is rooted.
  EXPECT_EQ(resolveUrl("http://example.com", "app.aci"), "http://example.com/app.aci");
  EXPECT_EQ(resolveUrl("http://example.com?ac-discovery=1", "?x"), "http://example.com?x");
}

TEST(UrlHost, AuthorityWithoutUserInfo) {
  EXPECT_EQ(urlHost("https://example.com/a"), "example.com");
  EXPECT_EQ(urlHost("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  EXPECT_EQ(urlHost("https://user:pw@Example.com:8443?x"), "Example.com:8443");
  EXPECT_EQ(urlHost("http://[::1]:80/"), "[::1]:80");
  EXPECT_EQ(urlHost("https://example.com#frag"), "example.com");
  EXPECT_EQ(urlHost("/relative/path"), "");
  EXPECT_EQ(urlHost("example.com/app"), "");
}

TEST(UrlScheme, CaseInsensitive) {
  EXPECT_TRUE(isHttps("https://x/"));
  EXPECT_TRUE(isHttps("HTTPS://x/"));
  EXPECT_FALSE(isHttps("http://x/"));
  EXPECT_TRUE(isHttp("Http://x/"));
  EXPECT_FALSE(isHttp("https://x/"));
  EXPECT_FALSE(isHttp("ftp://x/"));
  EXPECT_FALSE(isHttps("example.com/app"));
  EXPECT_FALSE(isHttps(""));
}

TEST(SameOrigin, SchemeHostAndPort) {
  EXPECT_TRUE(sameOrigin("https://a.example/x", "https://A.example/y?z"));
  EXPECT_TRUE(sameOrigin("https://a.example/x", "https://a.example:443/y"));
  EXPECT_TRUE(sameOrigin("http://a.example:80/x", "http://a.example/y"));
  EXPECT_TRUE(sameOrigin("http://[::1]:80/", "http://[::1]/"));
  EXPECT_FALSE(sameOrigin("https://a.example/x", "http://a.example/x"));
  EXPECT_FALSE(sameOrigin("https://a.example/x", "https://b.example/x"));
  EXPECT_FALSE(sameOrigin("http://127.0.0.1:1000/", "http://127.0.0.1:1001/"));
  EXPECT_FALSE(sameOrigin("https://a.example/", "https://a.example:8443/"));
  EXPECT_FALSE(sameOrigin("https://a.example.evil/", "https://a.example/"));
}

}  // namespace
}  // namespace ferry::http

namespace ferry::http {
namespace {

TEST(CacheMaxAge, ReadsTheMaxAgeDirective) {
  EXPECT_EQ(cacheMaxAge("max-age=3600"), 3600);
  EXPECT_EQ(cacheMaxAge("public, max-age=60"), 60);
  EXPECT_EQ(cacheMaxAge("Max-Age = 5 , must-revalidate"), 5);
  EXPECT_EQ(cacheMaxAge("max-age=\"7\""), 7);
  EXPECT_EQ(cacheMaxAge("max-age=0"), 0);
  EXPECT_EQ(cacheMaxAge("max-age=1, max-age=2"), 1);  // the first one counts
  EXPECT_EQ(cacheMaxAge("max-age=99999999999999999999999"), INT64_MAX);
}

TEST(CacheMaxAge, NoReuseWithoutAValidMaxAge) {
  EXPECT_EQ(cacheMaxAge(""), std::nullopt);
  EXPECT_EQ(cacheMaxAge("public"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("max-age"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("max-age="), std::nullopt);
  EXPECT_EQ(cacheMaxAge("max-age=-1"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("max-age=1h"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("s-maxage=10"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("max-age=60, no-cache"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("no-store, max-age=60"), std::nullopt);
  EXPECT_EQ(cacheMaxAge("NO-CACHE"), std::nullopt);
}

}  // namespace
}  // namespace ferry::http
