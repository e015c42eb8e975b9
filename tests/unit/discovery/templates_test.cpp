#include <gtest/gtest.h>

#include "discovery/appc_templates.hpp"

namespace ferry::discovery {
namespace {

const appc::OciPlatform kAmd64{"linux", "amd64", ""};

MetaTag disc(std::string prefix, std::string url) {
  return MetaTag{MetaKind::kDiscovery, std::move(prefix), std::move(url)};
}
MetaTag keys(std::string prefix, std::string url) {
  return MetaTag{MetaKind::kPublicKeys, std::move(prefix), std::move(url)};
}
using Strings = std::vector<std::string>;
using Endpoints = std::vector<Endpoint>;

TEST(NamePrefixes, LongestFirst) {
  EXPECT_EQ(namePrefixes("example.com/a/b"),
            (Strings{"example.com/a/b", "example.com/a", "example.com"}));
  EXPECT_EQ(namePrefixes("example.com"), Strings{"example.com"});
  EXPECT_EQ(namePrefixes("a//b"), (Strings{"a//b", "a"}));
  EXPECT_EQ(namePrefixes(""), Strings{});
}

TEST(PrefixMatches, StringPrefix) {
  EXPECT_TRUE(prefixMatches("example.com", "example.com/app"));
  EXPECT_TRUE(prefixMatches("example.com/app", "example.com/app"));
  EXPECT_TRUE(prefixMatches("example.com/ap", "example.com/app"));
  EXPECT_FALSE(prefixMatches("example.com/app/x", "example.com/app"));
  EXPECT_FALSE(prefixMatches("other.com", "example.com/app"));
}

TEST(ExpandTemplate, Variables) {
  TemplateVars vars{
      {"ext", "aci"}, {"name", "example.com/app"}, {"version", "1.0"}, {"os", "linux"}};
  auto e = expandTemplate("https://s/{os}/{name}-{version}-{os}.{ext}", vars);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->url, "https://s/linux/example.com/app-1.0-linux.aci");
  EXPECT_EQ(e->labelsUsed, 2u);  // version and os, each once; name and ext do not count
  EXPECT_EQ(expandTemplate("https://s/{name}.{ext}", vars)->labelsUsed, 0u);
  EXPECT_EQ(expandTemplate("https://s/plain", vars)->url, "https://s/plain");
  EXPECT_EQ(expandTemplate("https://s/{arch}.{ext}", vars), std::nullopt);
  EXPECT_EQ(expandTemplate("https://s/{}.{ext}", vars), std::nullopt);
  EXPECT_EQ(expandTemplate("https://s/{{name}}", vars), std::nullopt);
  EXPECT_EQ(expandTemplate("https://s/{name", vars)->url, "https://s/{name");  // not a variable
  EXPECT_EQ(expandTemplate("https://s/}{name}", vars)->url, "https://s/}example.com/app");
}

TEST(ExpandTemplate, ValuesCannotChangeTheUrlStructure) {
  TemplateVars vars{{"v", "1.0+build/x y?#%\"é"}};
  EXPECT_EQ(expandTemplate("https://s/{v}", vars)->url,
            "https://s/1.0+build/x%20y%3F%23%25%22%C3%A9");
  // The template's own text is left as written.
  EXPECT_EQ(expandTemplate("https://s/a b?x={v}#f", {{"v", "1"}})->url, "https://s/a b?x=1#f");
}

AppcImageRef ref(std::string_view s) { return parseAppcImageRef(s, kAmd64); }

// The spec's best-match example.
TEST(RenderEndpoints, BestMatchingTemplates) {
  std::vector<MetaTag> tags{
      disc("example.com", "https://storage.example.com/{os}/{arch}/{name}-{version}.{ext}"),
      disc("example.com", "https://mirror.storage.example.com/{os}/{arch}/{name}-{version}.{ext}"),
      disc("example.com", "https://storage.example.com/{os}/{arch}/{name}-latest.{ext}"),
  };
  EXPECT_EQ(
      renderEndpoints(tags, ref("example.com/reduce-worker:1.0.0")),
      (Endpoints{
          {"https://storage.example.com/linux/amd64/example.com/reduce-worker-1.0.0.aci",
           "https://storage.example.com/linux/amd64/example.com/reduce-worker-1.0.0.aci.asc"},
          {"https://mirror.storage.example.com/linux/amd64/example.com/reduce-worker-1.0.0.aci",
           "https://mirror.storage.example.com/linux/amd64/example.com/"
           "reduce-worker-1.0.0.aci.asc"},
      }));
  EXPECT_EQ(
      renderEndpoints(tags, ref("example.com/reduce-worker")),
      (Endpoints{
          {"https://storage.example.com/linux/amd64/example.com/reduce-worker-latest.aci",
           "https://storage.example.com/linux/amd64/example.com/reduce-worker-latest.aci.asc"}}));
}

TEST(RenderEndpoints, VersionDefaultsToLatestWhenNothingElseRenders) {
  std::vector<MetaTag> tags{disc("example.com", "https://s/{name}-{version}-{os}-{arch}.{ext}")};
  EXPECT_EQ(renderEndpoints(tags, ref("example.com/app")),
            (Endpoints{{"https://s/example.com/app-latest-linux-amd64.aci",
                        "https://s/example.com/app-latest-linux-amd64.aci.asc"}}));
}

TEST(RenderEndpoints, DroppedTemplates) {
  std::vector<MetaTag> tags{
      disc("example.com", "https://s/{name}-{channel}.{ext}"),   // no channel label
      disc("example.com", "https://s/{name}.aci"),               // no {ext}
      disc("other.com", "https://s/{name}.{ext}"),               // another prefix
      disc("example.com/app/longer", "https://s/{name}.{ext}"),  // longer than the name
      keys("example.com", "https://s/keys.{ext}"),
  };
  EXPECT_TRUE(renderEndpoints(tags, ref("example.com/app:1")).empty());
  EXPECT_EQ(renderEndpoints(tags, ref("example.com/app,channel=beta")),
            (Endpoints{
                {"https://s/example.com/app-beta.aci", "https://s/example.com/app-beta.aci.asc"}}));
}

TEST(RenderEndpoints, AnyLabelAndDuplicates) {
  std::vector<MetaTag> tags{
      disc("example.com/a", "https://s/{channel}/{name}.{ext}"),
      disc("example.com", "https://s/{channel}/{name}.{ext}"),
      disc("example.com", "http://s/{name}.{ext}"),
  };
  EXPECT_EQ(renderEndpoints(tags, ref("example.com/app,channel=alpha")),
            (Endpoints{{"https://s/alpha/example.com/app.aci",
                        "https://s/alpha/example.com/app.aci.asc"}}));
}

TEST(PublicKeyUrls, MatchingPrefixesInOrder) {
  std::vector<MetaTag> tags{
      keys("example.com", "https://example.com/pubkeys.gpg"),
      disc("example.com", "https://s/{name}.{ext}"),
      keys("example.com/app", "https://example.com/app.gpg"),
      keys("other.com", "https://other.com/k.gpg"),
      keys("example.com", "https://example.com/pubkeys.gpg"),
  };
  EXPECT_EQ(publicKeyUrls(tags, "example.com/app"),
            (Strings{"https://example.com/pubkeys.gpg", "https://example.com/app.gpg"}));
  EXPECT_EQ(publicKeyUrls(tags, "example.com/x"), Strings{"https://example.com/pubkeys.gpg"});
  EXPECT_TRUE(publicKeyUrls(tags, "nothing.org").empty());
}

}  // namespace
}  // namespace ferry::discovery
