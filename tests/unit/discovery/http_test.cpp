// http::Client against the in-process server (plain http, so allowHttp is on unless a test is
// about refusing it). HTTPS is exercised by the functional tests against nginx.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/error.hpp"
#include "discovery/http.hpp"
#include "tests/unit/http_test_server.hpp"

namespace ferry::http {
namespace {

using test::HttpReply;
using test::HttpTestServer;

// Proxies from the environment would otherwise see the test's loopback traffic.
class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
      unsetenv(v);
    }
  }
  static ClientOptions httpOptions() {
    ClientOptions o;
    o.allowHttp = true;
    o.connectTimeoutSeconds = 5;
    o.lowSpeedSeconds = 10;
    return o;
  }
  static Request get(std::string url) {
    Request r;
    r.url = std::move(url);
    return r;
  }
  HttpTestServer server_;
};

template <typename F>
Error errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no ferry::Error thrown";
  return Error(Errc::kInvalid, "");
}

TEST_F(HttpTest, GetReturnsBodyHeadersAndStatus) {
  server_.route("/hello?x=1", HttpReply{200, {{"X-Thing", "a b"}, {"ETag", "\"v1\""}}, "hi\n"});
  Client client(httpOptions());
  Response r = client.get(get(server_.url("/hello?x=1")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi\n");
  EXPECT_EQ(r.url, server_.url("/hello?x=1"));
  EXPECT_EQ(r.header("x-thing"), "a b");
  EXPECT_EQ(r.header("ETAG"), "\"v1\"");
  EXPECT_EQ(r.header("missing"), std::nullopt);
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].header("User-Agent"), "ferry");
}

TEST_F(HttpTest, RequestHeadersAreSent) {
  server_.route("/h", HttpReply{200, {}, "ok"});
  Client client(httpOptions());
  Request r = get(server_.url("/h"));
  r.headers = {{"Accept", "application/json"}, {"If-None-Match", "\"x\""}, {"X-Empty", ""}};
  client.get(r);
  auto seen = server_.requests().at(0);
  EXPECT_EQ(seen.header("Accept"), "application/json");
  EXPECT_EQ(seen.header("If-None-Match"), "\"x\"");
  EXPECT_EQ(seen.header("X-Empty"), "");
}

TEST_F(HttpTest, HeaderInjectionIsRefused) {
  Client client(httpOptions());
  Request r = get(server_.url("/h"));
  r.headers = {{"X-Bad", "a\r\nX-Evil: 1"}};
  Error e = errorOf([&] { client.get(r); });
  EXPECT_EQ(e.code(), Errc::kInvalid);
  EXPECT_EQ(server_.connections(), 0u);
}

TEST_F(HttpTest, NotFoundIsAStatusNotAnError) {
  Client client(httpOptions());
  Request request = get(server_.url("/missing"));
  Response r = client.get(request);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "not found\n");
  EXPECT_EQ(describeStatus(request, r), "GET \"" + server_.url("/missing") + "\": 404 Not Found");
}

TEST_F(HttpTest, DescribeStatusNamesTheRedirectTargetAndUnknownCodes) {
  Request request = get("https://a.example/x");
  Response r;
  r.status = 599;
  r.url = "https://b.example/y";
  EXPECT_EQ(describeStatus(request, r),
            "GET \"https://a.example/x\" (redirected to \"https://b.example/y\"): 599");
  r.status = 401;
  r.url = request.url;
  EXPECT_EQ(describeStatus(request, r), "GET \"https://a.example/x\": 401 Unauthorized");
}

TEST_F(HttpTest, FollowsRedirectChains) {
  server_.redirect("/a", 301, "/b");                       // absolute path
  server_.redirect("/b", 302, "c?q=1");                    // relative
  server_.redirect("/c?q=1", 307, server_.url("/final"));  // absolute URL
  server_.route("/final", HttpReply{200, {{"X-Final", "yes"}}, "done"});
  Client client(httpOptions());
  Response r = client.get(get(server_.url("/a")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "done");
  EXPECT_EQ(r.url, server_.url("/final"));
  EXPECT_EQ(r.header("X-Final"), "yes");
  EXPECT_EQ(r.header("Location"), std::nullopt);  // headers of the last response only
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].target, "/b");
  EXPECT_EQ(seen[2].target, "/c?q=1");
}

TEST_F(HttpTest, RedirectWithoutLocationIsReturned) {
  server_.route("/r", HttpReply{302, {}, "no location"});
  Client client(httpOptions());
  Response r = client.get(get(server_.url("/r")));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.body, "no location");
}

TEST_F(HttpTest, TooManyRedirects) {
  server_.redirect("/loop", 302, "/loop2");
  server_.redirect("/loop2", 302, "/loop");
  ClientOptions o = httpOptions();
  o.maxRedirects = 3;
  Client client(o);
  Error e = errorOf([&] { client.get(get(server_.url("/loop"))); });
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_STREQ(e.what(), ("cannot GET \"" + server_.url("/loop") + "\" (redirected to \"" +
                          server_.url("/loop2") + "\"): more than 3 redirects")
                             .c_str());
  EXPECT_EQ(server_.requests().size(), 4u);
}

TEST_F(HttpTest, PlainHttpIsRefusedBeforeAnyTraffic) {
  Client client;  // defaults: https only
  Error e = errorOf([&] { client.get(get(server_.url("/x"))); });
  EXPECT_EQ(e.code(), Errc::kSecurity);
  EXPECT_STREQ(e.what(), ("cannot GET \"" + server_.url("/x") +
                          "\": plain http is not allowed (--insecure-options=http allows it)")
                             .c_str());
  EXPECT_EQ(server_.connections(), 0u);
}

TEST_F(HttpTest, OnlyHttpAndHttpsSchemes) {
  Client client(httpOptions());
  Error e = errorOf([&] { client.get(get("file:///etc/passwd")); });
  EXPECT_EQ(e.code(), Errc::kUnsupported);
  EXPECT_STREQ(e.what(),
               "cannot GET \"file:///etc/passwd\": only https and http URLs are supported");

  server_.redirect("/to-file", 302, "file:///etc/passwd");
  e = errorOf([&] { client.get(get(server_.url("/to-file"))); });
  EXPECT_EQ(e.code(), Errc::kUnsupported);
  EXPECT_STREQ(e.what(), ("cannot GET \"" + server_.url("/to-file") +
                          "\": redirected to \"file:///etc/passwd\", only https and http URLs "
                          "are supported")
                             .c_str());
}

TEST_F(HttpTest, AuthorizationStaysWithinTheOrigin) {
  HttpTestServer storage;  // another port: another origin
  storage.route("/blob", HttpReply{200, {}, "blob bytes"});
  server_.redirect("/v2/x/blobs/sha256:1", 307, "/same-origin");
  server_.redirect("/same-origin", 302, storage.url("/blob"));
  Client client(httpOptions());
  Request r = get(server_.url("/v2/x/blobs/sha256:1"));
  r.headers = {{"Authorization", "Bearer secret"}, {"Cookie", "c=1"}, {"Accept", "*/*"}};
  Response resp = client.get(r);
  EXPECT_EQ(resp.body, "blob bytes");
  auto first = server_.requests();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].header("Authorization"), "Bearer secret");
  EXPECT_EQ(first[1].header("Authorization"), "Bearer secret");  // same origin: kept
  auto second = storage.requests();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].header("Authorization"), std::nullopt);
  EXPECT_EQ(second[0].header("Cookie"), std::nullopt);
  EXPECT_EQ(second[0].header("Accept"), "*/*");
}

TEST_F(HttpTest, StalledTransferIsAborted) {
  server_.route("/stall", HttpReply{.status = 200, .body = std::string(1000, 'x'), .stall = true});
  ClientOptions o = httpOptions();
  o.lowSpeedSeconds = 1;
  Client client(o);
  auto start = std::chrono::steady_clock::now();
  Error e = errorOf([&] { client.get(get(server_.url("/stall"))); });
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_TRUE(
      std::string_view(e.what()).starts_with("cannot GET \"" + server_.url("/stall") + "\": "))
      << e.what();
  EXPECT_NE(std::string_view(e.what()).find("the transfer stalled: less than 1 byte/s for 1 s"),
            std::string_view::npos)
      << e.what();
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(HttpTest, StallTimeoutFromTheEnvironment) {
  server_.route("/stall", HttpReply{.status = 200, .body = std::string(1000, 'x'), .stall = true});
  ClientOptions o = httpOptions();
  o.lowSpeedSeconds = 600;
  ::setenv("FERRY_HTTP_STALL_TIMEOUT", "1", 1);
  Client client(o);
  ::unsetenv("FERRY_HTTP_STALL_TIMEOUT");
  EXPECT_EQ(client.options().lowSpeedSeconds, 1);
  Error e = errorOf([&] { client.get(get(server_.url("/stall"))); });
  EXPECT_NE(std::string_view(e.what()).find("stalled"), std::string_view::npos) << e.what();

  ::setenv("FERRY_HTTP_STALL_TIMEOUT", "soon", 1);
  Error bad = errorOf([&] { Client c(o); });
  ::unsetenv("FERRY_HTTP_STALL_TIMEOUT");
  EXPECT_EQ(bad.code(), Errc::kUsage);
  EXPECT_NE(std::string_view(bad.what()).find("FERRY_HTTP_STALL_TIMEOUT"), std::string_view::npos)
      << bad.what();
}

TEST_F(HttpTest, BodyLargerThanTheLimit) {
  server_.route("/big", HttpReply{200, {}, std::string(5000, 'b')});
  Client client(httpOptions());
  Request r = get(server_.url("/big"));
  r.maxBodySize = 1000;
  Error e = errorOf([&] { client.get(r); });
  EXPECT_EQ(e.code(), Errc::kLimit);
  EXPECT_STREQ(
      e.what(),
      ("cannot GET \"" + server_.url("/big") + "\": response body exceeds 1000 bytes").c_str());
  r.maxBodySize = 5000;
  EXPECT_EQ(client.get(r).body.size(), 5000u);
}

TEST_F(HttpTest, ConnectionRefused) {
  Client client(httpOptions());
  std::string url = "http://127.0.0.1:" + std::to_string(test::closedPort()) + "/";
  Error e = errorOf([&] { client.get(get(url)); });
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_TRUE(std::string_view(e.what()).starts_with("cannot GET \"" + url + "\": ")) << e.what();
}

TEST_F(HttpTest, StreamSendsOnly2xxBodiesToTheSink) {
  std::string payload(300000, 'p');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  server_.redirect("/blob", 302, "/real-blob");
  server_.route("/real-blob", HttpReply{200, {}, payload});
  Client client(httpOptions());
  std::string got;
  std::vector<std::pair<uint64_t, std::optional<uint64_t>>> progress;
  Response r = client.stream(
      get(server_.url("/blob")), [&](const char* d, size_t n) { got.append(d, n); },
      [&](uint64_t now, std::optional<uint64_t> total) { progress.emplace_back(now, total); });
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(got, payload);
  EXPECT_TRUE(r.body.empty());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, payload.size());
  EXPECT_EQ(progress.back().second, payload.size());
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);

  got.clear();
  Request missing = get(server_.url("/nope"));
  missing.maxBodySize = 4;
  r = client.stream(missing, [&](const char* d, size_t n) { got.append(d, n); });
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(got, "");
  EXPECT_EQ(r.body, "not ");  // kept for messages, bounded
}

TEST_F(HttpTest, SinkExceptionsPropagate) {
  server_.route("/blob", HttpReply{200, {}, std::string(100000, 'z')});
  Client client(httpOptions());
  EXPECT_THROW(client.stream(get(server_.url("/blob")),
                             [](const char*, size_t) { throw std::runtime_error("disk full"); }),
               std::runtime_error);
}

TEST_F(HttpTest, PostHeadAndSeeOther) {
  server_.redirect("/token", 303, "/token-result");
  server_.route("/token-result", HttpReply{200, {}, "{\"token\":\"t\"}"});
  server_.route("/head", HttpReply{200, {{"Docker-Content-Digest", "sha256:x"}}, "abc"});
  Client client(httpOptions());
  Request post = get(server_.url("/token"));
  post.method = "POST";
  post.body = "grant_type=password";
  post.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  Response r = client.get(post);
  EXPECT_EQ(r.body, "{\"token\":\"t\"}");
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "grant_type=password");
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].body, "");

  Request head = get(server_.url("/head"));
  head.method = "HEAD";
  r = client.get(head);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("Docker-Content-Digest"), "sha256:x");
  EXPECT_EQ(server_.requests().back().method, "HEAD");
}

TEST_F(HttpTest, ConnectToKeepsTheNameInTheUrl) {
  server_.route("/app?ac-discovery=1", HttpReply{200, {}, "page"});
  ClientOptions o = httpOptions();
  o.connectTo = {"example.com:80:127.0.0.1:" + std::to_string(server_.port())};
  Client client(o);
  Response r = client.get(get("http://example.com/app?ac-discovery=1"));
  EXPECT_EQ(r.body, "page");
  EXPECT_EQ(server_.requests().at(0).header("Host"), "example.com");
}

TEST_F(HttpTest, ParallelCallsOnOneClient) {
  for (int i = 0; i < 16; ++i) {
    server_.route("/p" + std::to_string(i), HttpReply{200, {}, std::string(10000 + i, 'q')});
  }
  Client client(httpOptions());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      try {
        Response r = client.get(get(server_.url("/p" + std::to_string(i))));
        if (r.body.size() == static_cast<size_t>(10000 + i)) ++ok;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
}

}  // namespace
}  // namespace ferry::http
