#include "discovery/auth.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::registry {
namespace {

TEST(Challenges, BearerWithQuotedParameters) {
  auto cs =
      parseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:library/busybox:pull")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].param("scope"), "repository:library/busybox:pull");
  EXPECT_EQ(cs[0].param("error"), std::nullopt);
}

TEST(Challenges, BasicTokenValuesSpacesAndCase) {
  auto cs = parseChallenges(R"(BASIC  Realm = registry ,  charset="UTF-8")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].param("realm"), "registry");
  EXPECT_EQ(cs[0].param("charset"), "UTF-8");
}

TEST(Challenges, EscapesInQuotedStrings) {
  auto cs = parseChallenges(R"(Bearer realm="a \"quoted\" \\ realm, with comma")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].param("realm"), R"(a "quoted" \ realm, with comma)");
}

TEST(Challenges, SeveralChallengesInOneHeader) {
  auto cs = parseChallenges(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", )"
      R"(Bearer realm="http://x/token",error="invalid_token", Negotiate abc+/=, Empty)");
  ASSERT_EQ(cs.size(), 5u);
  EXPECT_EQ(cs[0].scheme, "newauth");
  EXPECT_EQ(cs[0].params.size(), 3u);
  EXPECT_EQ(cs[0].param("title"), R"(Login to "apps")");
  EXPECT_EQ(cs[1].scheme, "basic");
  EXPECT_EQ(cs[1].param("realm"), "simple");
  EXPECT_EQ(cs[2].scheme, "bearer");
  EXPECT_EQ(cs[2].param("error"), "invalid_token");
  EXPECT_EQ(cs[3].scheme, "negotiate");
  EXPECT_EQ(cs[3].token68, "abc+/=");
  EXPECT_TRUE(cs[3].params.empty());
  EXPECT_EQ(cs[4].scheme, "empty");
  EXPECT_TRUE(cs[4].params.empty());
  EXPECT_EQ(cs[4].token68, std::nullopt);
}

TEST(Challenges, Invalid) {
  const std::pair<std::string, std::string> table[] = {
      {"", "no challenge"},
      {" , ", "no challenge"},
      {R"(Bearer realm="unterminated)", "unterminated quoted string"},
      {R"(Bearer realm="a", realm="b")", "parameter \"realm\" appears twice"},
      {R"(Bearer realm=@)", "parameter \"realm\" has no value"},
      {R"(Bearer realm="a" service="b")", "expected ',' after parameter \"realm\""},
      {R"(="x")", "expected an auth scheme at offset 0"},
      {R"(Bearer abc== def)", "unexpected text after the token of \"Bearer\""},
      {R"(Bearer, realm="x")", "expected a space after \"realm\""},
  };
  for (const auto& [header, reason] : table) {
    SCOPED_TRACE(header);
    try {
      parseChallenges(header);
      ADD_FAILURE() << "parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid);
      EXPECT_EQ(std::string(e.what()),
                "invalid WWW-Authenticate header " + quote(header) + ": " + reason);
    }
  }
}

TEST(Base64, RoundTripsAndRejects) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "user:p@ss:w0rd\xff"}) {
    EXPECT_EQ(base64Decode(base64Encode(s)), s);
  }
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Decode("Zm8"), "fo");  // padding is optional
  EXPECT_EQ(base64Decode("Zm9v!"), std::nullopt);
  EXPECT_EQ(base64Decode("Z"), std::nullopt);
  EXPECT_EQ(basicAuthorization({"alice", "secret"}), "Basic YWxpY2U6c2VjcmV0");
}

TEST(Credentials, ParsesAuthJson) {
  Credentials c = Credentials::parse(R"({
    "auths": {
      "localhost:5000": {"auth": "YWxpY2U6c2VjcmV0"},
      "quay.io": {"username": "bob", "password": "pw:with:colons"},
      "quay.io/team": {"auth": ")" + base64Encode("team:t") +
                                         R"("},
      "https://index.docker.io/v1/": {"auth": ")" +
                                         base64Encode("hub:h") + R"(", "email": "x"},
      "helper.example": {"auth": ""},
      "token.example": {"identitytoken": "abc"}
    },
    "credsStore": "desktop",
    "HttpHeaders": {"X": "y"}
  })",
                                     "auth.json");
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.find("localhost:5000"), (Credential{"alice", "secret"}));
  EXPECT_EQ(c.find("localhost:5000", "any/repo"), (Credential{"alice", "secret"}));
  EXPECT_EQ(c.find("quay.io", "coreos/etcd"), (Credential{"bob", "pw:with:colons"}));
  // The most specific entry wins.
  EXPECT_EQ(c.find("quay.io", "team/app"), (Credential{"team", "t"}));
  EXPECT_EQ(c.find("quay.io", "team"), (Credential{"team", "t"}));
  EXPECT_EQ(c.find("quay.io", "teams/app"), (Credential{"bob", "pw:with:colons"}));
  // Docker Hub's legacy key serves docker.io.
  EXPECT_EQ(c.find("docker.io", "library/busybox"), (Credential{"hub", "h"}));
  EXPECT_EQ(c.find("helper.example"), std::nullopt);
  EXPECT_EQ(c.find("token.example"), std::nullopt);
  EXPECT_EQ(c.find("localhost:5001"), std::nullopt);
  EXPECT_EQ(c.find("localhost"), std::nullopt);
}

TEST(Credentials, EmptyDocumentsAndErrors) {
  EXPECT_TRUE(Credentials::parse("{}", "x").empty());
  EXPECT_TRUE(Credentials::parse(R"({"auths": {}})", "x").empty());
  const std::pair<std::string, std::string> table[] = {
      {"[]", "cannot parse f.json: (root): must be an object"},
      {R"({"auths": []})", "cannot parse f.json: auths: must be an object"},
      {R"({"auths": {"h": 1}})", "cannot parse f.json: auths.h: must be an object"},
      {R"({"auths": {"h": {"auth": "!!"}}})", "cannot parse f.json: auths.h.auth: is not base64"},
      {R"({"auths": {"h": {"auth": "YWxpY2U="}}})",
       "cannot parse f.json: auths.h.auth: must encode \"user:password\""},
      {R"({"auths": {"h:1": {"username": 5}}})",
       "cannot parse f.json: auths[\"h:1\"].username: must be a string"},
      {R"({"auths": {}, "auths": {}})", "cannot parse f.json: duplicate key \"auths\""},
  };
  for (const auto& [text, message] : table) {
    SCOPED_TRACE(text);
    try {
      Credentials::parse(text, "f.json");
      ADD_FAILURE() << "parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid);
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Credentials, DefaultPathOrder) {
  TempDir tmp(std::filesystem::temp_directory_path(), "ferry-auth-");
  std::filesystem::path dir = tmp.path() / "data";
  std::filesystem::path home = tmp.path() / "home";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(home / ".docker");
  ScopedEnv noFile("FERRY_AUTH_FILE", std::nullopt);
  ScopedEnv fakeHome("HOME", home.string());
  ScopedEnv noRuntime("XDG_RUNTIME_DIR", std::nullopt);

  EXPECT_EQ(Credentials::defaultPath(dir), std::nullopt);
  EXPECT_TRUE(Credentials::loadDefault(dir).empty());

  writeFileAtomic(home / ".docker" / "config.json",
                  R"({"auths": {"a.io": {"username": "d", "password": "1"}}})");
  EXPECT_EQ(Credentials::defaultPath(dir), home / ".docker" / "config.json");
  EXPECT_EQ(Credentials::loadDefault(dir).find("a.io"), (Credential{"d", "1"}));

  writeFileAtomic(dir / "auth.json", R"({"auths": {"a.io": {"username": "f", "password": "2"}}})");
  EXPECT_EQ(Credentials::defaultPath(dir), dir / "auth.json");
  EXPECT_EQ(Credentials::loadDefault(dir).find("a.io"), (Credential{"f", "2"}));

  // podman's file between the two; every file is read, the first naming a registry wins.
  std::filesystem::path run = tmp.path() / "run";
  ScopedEnv runtime("XDG_RUNTIME_DIR", run.string());
  std::filesystem::create_directories(run / "containers");
  writeFileAtomic(run / "containers" / "auth.json",
                  R"({"auths": {"a.io": {"username": "p", "password": "4"},
                                "b.io": {"username": "p", "password": "5"}}})");
  EXPECT_EQ(Credentials::defaultPaths(dir),
            (std::vector<std::filesystem::path>{dir / "auth.json", run / "containers" / "auth.json",
                                                home / ".docker" / "config.json"}));
  Credentials merged = Credentials::loadDefault(dir);
  EXPECT_EQ(merged.find("a.io"), (Credential{"f", "2"}));
  EXPECT_EQ(merged.find("b.io"), (Credential{"p", "5"}));

  std::filesystem::path explicitFile = tmp.path() / "explicit.json";
  ScopedEnv file("FERRY_AUTH_FILE", explicitFile.string());
  EXPECT_EQ(Credentials::defaultPath(dir), explicitFile);
  // Named explicitly, a missing file is an error, not "no credentials".
  EXPECT_ANY_THROW(Credentials::loadDefault(dir));
  writeFileAtomic(explicitFile, "{\"auths\": {\"a.io\": {\"auth\": \"ZToz\"}}}");
  EXPECT_EQ(Credentials::loadDefault(dir).find("a.io"), (Credential{"e", "3"}));
  writeFileAtomic(explicitFile, "{");
  try {
    Credentials::loadDefault(dir);
    ADD_FAILURE() << "parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalid);
    EXPECT_NE(std::string(e.what()).find(quote(explicitFile.string())), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ferry::registry
