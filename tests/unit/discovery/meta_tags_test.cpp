#include <gtest/gtest.h>

#include <random>

#include "discovery/meta_tags.hpp"

namespace ferry::discovery {
namespace {

MetaTag disc(std::string prefix, std::string url) {
  return MetaTag{MetaKind::kDiscovery, std::move(prefix), std::move(url)};
}
MetaTag keys(std::string prefix, std::string url) {
  return MetaTag{MetaKind::kPublicKeys, std::move(prefix), std::move(url)};
}
using Tags = std::vector<MetaTag>;

TEST(MetaTags, SpecExample) {
  const char* html = R"(<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <meta name="ac-discovery" content="example.com https://storage.example.com/{os}/{arch}/{name}-{version}.{ext}">
    <meta name="ac-discovery" content="example.com hdfs://storage.example.com/{name}-{version}-{os}-{arch}.{ext}">
    <meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">
  </head>
</html>)";
  EXPECT_EQ(
      parseMetaTags(html),
      (Tags{disc("example.com", "https://storage.example.com/{os}/{arch}/{name}-{version}.{ext}"),
            disc("example.com", "hdfs://storage.example.com/{name}-{version}-{os}-{arch}.{ext}"),
            keys("example.com", "https://example.com/pubkeys.gpg")}));
}

TEST(MetaTags, AttributeShapes) {
  const Tags one{disc("p", "https://x/{name}.{ext}")};
  const char* shapes[] = {
      R"(<meta name="ac-discovery" content="p https://x/{name}.{ext}">)",
      R"(<meta content="p https://x/{name}.{ext}" name="ac-discovery">)",
      R"(<meta name='ac-discovery' content='p https://x/{name}.{ext}'>)",
      R"(<META NAME="ac-discovery" CONTENT="p https://x/{name}.{ext}">)",
      R"(<Meta Name="AC-Discovery" Content="p https://x/{name}.{ext}"/>)",
      R"(<meta name="ac-discovery" content="p https://x/{name}.{ext}" />)",
      R"(<meta name=ac-discovery content="p https://x/{name}.{ext}">)",
      R"(<meta
           name = "ac-discovery"
           content = "  p   https://x/{name}.{ext}  ">)",
      "<meta\tname=\"ac-discovery\"\tcontent=\"p\thttps://x/{name}.{ext}\">",
      R"(<meta name="ac-discovery" content="p https://x/{name}.{ext}" name="other">)",
      R"(<meta itemprop x-y="a>b" name="ac-discovery" content="p https://x/{name}.{ext}">)",
      R"(<meta name="ac-discovery" content="p&#32;https://x/{name}.{ext}">)",
      R"(<head><meta name="ac-discovery" content="p https://x/{name}.{ext}"></head>)",
  };
  for (const char* html : shapes) EXPECT_EQ(parseMetaTags(html), one) << html;
}

TEST(MetaTags, CharacterReferences) {
  EXPECT_EQ(
      parseMetaTags(
          R"(<meta name="ac-discovery" content="p https://x/?a=1&amp;b={name}&#38;e={ext}&#x26;&bogus;&">)"),
      Tags{disc("p", "https://x/?a=1&b={name}&e={ext}&&bogus;&")});
  EXPECT_EQ(
      parseMetaTags(
          R"(<meta name="ac-discovery" content="p https://x/&quot;&lt;&gt;&apos;&#0;&#xD800;&#99999999;">)"),
      Tags{disc("p", "https://x/\"<>'&#0;&#xD800;&#99999999;")});
}

TEST(MetaTags, IgnoresEverythingElse) {
  const char* html = R"(
    <meta name="description" content="example.com https://not/a/template">
    <meta name="go-import" content="example.com git https://example.com/repo">
    <meta name="ac-discovery">
    <meta content="example.com https://x/{ext}">
    <meta name="ac-discovery" content="onlyoneword">
    <meta name="ac-discovery" content="   ">
    <meta name="ac-discovery" content="p https://x/{ext} three">
    <meta name="ac-discovery-other" content="p https://x/{ext}">
    <meta http-equiv="refresh" content="0; url=https://x/">
    <!-- <meta name="ac-discovery" content="comment https://x/{ext}"> -->
    <script>var s = '<meta name="ac-discovery" content="script https://x/{ext}">';</script>
    <style>/* <meta name="ac-discovery" content="style https://x/{ext}"> */</style>
    <title><meta name="ac-discovery" content="title https://x/{ext}"></title>
    <p>1 < 2 and <b>bold</b> </meta name="ac-discovery" content="closing https://x/{ext}">
    <link name="ac-discovery" content="link https://x/{ext}">
    <metadata name="ac-discovery" content="metadata https://x/{ext}">
    <meta name="ac-discovery" content="kept https://x/{ext}">
  )";
  EXPECT_EQ(parseMetaTags(html), Tags{disc("kept", "https://x/{ext}")});
}

TEST(MetaTags, ScriptEndTagIsCaseInsensitive) {
  const char* html =
      R"(<SCRIPT>x</Script ><meta name="ac-discovery-pubkeys" content="p https://k">)";
  EXPECT_EQ(parseMetaTags(html), Tags{keys("p", "https://k")});
}

TEST(MetaTags, TruncatedInput) {
  const std::string full = R"(<meta name="ac-discovery" content="p https://x/{ext}">)";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_TRUE(parseMetaTags(full.substr(0, n)).empty()) << n;
  }
  EXPECT_EQ(parseMetaTags(full).size(), 1u);
  EXPECT_TRUE(
      parseMetaTags("<!-- never closed <meta name=\"ac-discovery\" content=\"p u\">").empty());
  EXPECT_TRUE(parseMetaTags("<script><meta name=\"ac-discovery\" content=\"p u\">").empty());
  EXPECT_TRUE(parseMetaTags("<meta name=\"ac-discovery\" content=\"p u>").empty());
}

TEST(MetaTags, GarbageNeverCrashes) {
  const std::string alphabet = "<>/=\"' \t\n!-?&#;xmetanamcontentMETAac-discovery{}";
  std::mt19937 rng(12345);
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    size_t len = rng() % 200;
    for (size_t i = 0; i < len; ++i) {
      s += (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    (void)parseMetaTags(s);
  }
  std::string many(100000, '<');
  EXPECT_TRUE(parseMetaTags(many).empty());
  std::string attrs = "<meta";
  for (int i = 0; i < 20000; ++i) attrs += " a=b";
  attrs += " name=ac-discovery content=\"p u\">";
  EXPECT_EQ(parseMetaTags(attrs), Tags{disc("p", "u")});
}

}  // namespace
}  // namespace ferry::discovery
