#include <gtest/gtest.h>

#include "formats/oci/index.hpp"
#include "formats/oci/manifest.hpp"
#include "formats/oci/media_types.hpp"
#include "test_util.hpp"

namespace ferry::oci {
namespace {

using namespace test;
using json::Json;

TEST(MediaTypes, Classify) {
  EXPECT_TRUE(isManifest(media::kImageManifest));
  EXPECT_TRUE(isManifest(media::kDockerManifest));
  EXPECT_FALSE(isManifest(media::kImageIndex));
  EXPECT_TRUE(isIndex(media::kImageIndex));
  EXPECT_TRUE(isIndex(media::kDockerManifestList));
  EXPECT_TRUE(isConfig(media::kDockerConfig));
  EXPECT_TRUE(isLayer(media::kLayerTarZstd));
  EXPECT_TRUE(isLayer(media::kDockerForeignLayerTarGzip));
  EXPECT_FALSE(isLayer(media::kImageConfig));
  EXPECT_TRUE(isNondistributable(media::kLayerNondistributableTarGzip));
  EXPECT_TRUE(isNondistributable(media::kDockerForeignLayerTarGzip));
  EXPECT_FALSE(isNondistributable(media::kLayerTar));
  EXPECT_EQ(layerCompression(media::kLayerTar), Compression::kNone);
  EXPECT_EQ(layerCompression(media::kLayerNondistributableTarGzip), Compression::kGzip);
  EXPECT_EQ(layerCompression(media::kDockerLayerTarGzip), Compression::kGzip);
  EXPECT_EQ(layerCompression(media::kLayerTarZstd), Compression::kZstd);
  EXPECT_EQ(errorOf([] { layerCompression("application/xml"); }),
            "not supported: layer media type \"application/xml\"");
  EXPECT_TRUE(isValidMediaType("application/vnd.example+type"));
  EXPECT_FALSE(isValidMediaType("application"));
  EXPECT_FALSE(isValidMediaType("application/"));
  EXPECT_FALSE(isValidMediaType("app lication/x"));
}

TEST(Manifest, SpecExampleRoundTrips) {
  std::string text = readData("manifest.json");
  ImageManifest m = ImageManifest::parse(text, "manifest.json", {.strict = true});
  EXPECT_EQ(m.schemaVersion, 2);
  EXPECT_FALSE(m.mediaType);
  EXPECT_FALSE(m.isDocker());
  EXPECT_EQ(m.config.mediaType, media::kImageConfig);
  EXPECT_EQ(m.config.size, 7023);
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_EQ(m.layers[2].digest.str(),
            "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736");
  EXPECT_EQ(m.annotations.at("com.example.key2"), "value2");
  EXPECT_EQ(unordered(m.toJson()), unordered(json::parse(text, "x")));
  EXPECT_EQ(ImageManifest::parse(m.dump(), "again"), m);
  // Canonical order: schemaVersion, config, layers, annotations.
  EXPECT_EQ(m.toJson().begin().key(), "schemaVersion");
  EXPECT_EQ(m.config.toJson().dump(),
            R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":)"
            R"("sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",)"
            R"("size":7023})");
}

TEST(Manifest, ArtifactWithSubjectRoundTrips) {
  std::string text = readData("manifest-artifact.json");
  ImageManifest m = ImageManifest::parse(text, "manifest-artifact.json", {.strict = true});
  EXPECT_EQ(m.artifactType, "application/vnd.example+type");
  EXPECT_EQ(m.config.data, "e30=");
  ASSERT_TRUE(m.subject);
  EXPECT_EQ(m.subject->size, 7682);
  EXPECT_EQ(m.layers[0].annotation("org.opencontainers.image.title"), "artifact.txt");
  EXPECT_EQ(unordered(m.toJson()), unordered(json::parse(text, "x")));
}

TEST(Manifest, DockerV2Schema2) {
  std::string text = readData("docker-manifest.json");
  ImageManifest m = ImageManifest::parse(text, "docker-manifest.json", {.strict = true});
  EXPECT_TRUE(m.isDocker());
  EXPECT_EQ(m.config.mediaType, media::kDockerConfig);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_TRUE(isLayer(m.layers[1].mediaType));
  EXPECT_TRUE(isNondistributable(m.layers[1].mediaType));
  ASSERT_EQ(m.layers[1].urls.size(), 1u);
  EXPECT_EQ(unordered(m.toJson()), unordered(json::parse(text, "x")));
}

TEST(Manifest, UnknownFieldsAreKeptOrRejected) {
  std::string text = edited(readData("manifest.json"), [](Json& j) {
    j["com.example.extension"] = {{"a", 1}};
    j["layers"][1]["x-extra"] = true;
  });
  ImageManifest m = ImageManifest::parse(text, "m");
  EXPECT_EQ(m.extra.dump(), R"({"com.example.extension":{"a":1}})");
  EXPECT_EQ(m.layers[1].extra.dump(), R"({"x-extra":true})");
  EXPECT_EQ(unordered(m.toJson()), unordered(json::parse(text, "x")));
  EXPECT_EQ(ImageManifest::fromJson(m.toJson()), m);
  EXPECT_EQ(errorOf([&] { ImageManifest::parse(text, "m", {.strict = true}); }),
            "layers[1].x-extra: unknown field");
}

struct BadCase {
  const char* name;
  void (*edit)(Json&);
  const char* error;
};

TEST(Manifest, MalformedFieldsNameTheirPath) {
  const BadCase cases[] = {
      {"version", [](Json& j) { j["schemaVersion"] = 1; }, "schemaVersion: must be 2"},
      {"version type", [](Json& j) { j["schemaVersion"] = "2"; },
       "schemaVersion: must be an integer, not a string"},
      {"no config", [](Json& j) { j.erase("config"); }, "config: required field is missing"},
      {"no layers", [](Json& j) { j.erase("layers"); }, "layers: required field is missing"},
      {"layers type", [](Json& j) { j["layers"] = Json::object(); },
       "layers: must be an array, not an object"},
      {"digest hex", [](Json& j) { j["layers"][2]["digest"] = "sha256:1234"; },
       "layers[2].digest: invalid sha256 digest \"1234\": want 64 lowercase hex digits"},
      {"digest shape", [](Json& j) { j["layers"][0]["digest"] = "nope"; },
       "layers[0].digest: invalid digest \"nope\": want algorithm:hex"},
      {"digest alg", [](Json& j) { j["config"]["digest"] = "md5:abc"; },
       "config.digest: not supported: digest algorithm \"md5\""},
      {"negative size", [](Json& j) { j["layers"][1]["size"] = -1; },
       "layers[1].size: must not be negative"},
      {"size type", [](Json& j) { j["config"]["size"] = 1.5; },
       "config.size: must be an integer, not a number"},
      {"media type", [](Json& j) { j["layers"][0]["mediaType"] = "tarball"; },
       "layers[0].mediaType: invalid media type \"tarball\""},
      {"no media type", [](Json& j) { j["config"].erase("mediaType"); },
       "config.mediaType: required field is missing"},
      {"document media type", [](Json& j) { j["mediaType"] = std::string(media::kImageIndex); },
       "mediaType: not an image manifest: \"application/vnd.oci.image.index.v1+json\""},
      {"annotation value", [](Json& j) { j["annotations"]["com.example.key1"] = 1; },
       "annotations[\"com.example.key1\"]: must be a string, not an integer"},
      {"urls",
       [](Json& j) {
         j["layers"][0]["urls"] = {"https://x", 3};
       },
       "layers[0].urls[1]: must be a string, not an integer"},
  };
  std::string text = readData("manifest.json");
  for (const auto& c : cases) {
    std::string bad = edited(text, c.edit);
    EXPECT_EQ(errorOf([&] { ImageManifest::parse(bad, "m"); }), c.error) << c.name;
  }
  EXPECT_EQ(codeOf([&] { ImageManifest::parse("[]", "m"); }), errcName(Errc::kInvalid));
  EXPECT_EQ(errorOf([&] { ImageManifest::parse("[]", "m"); }),
            "document: must be an object, not an array");
}

TEST(Index, SpecExampleRoundTrips) {
  std::string text = readData("index.json");
  ImageIndex x = ImageIndex::parse(text, "index.json", {.strict = true});
  ASSERT_EQ(x.manifests.size(), 2u);
  ASSERT_TRUE(x.manifests[0].platform);
  EXPECT_EQ(x.manifests[0].platform->str(), "linux/ppc64le");
  EXPECT_EQ(unordered(x.toJson()), unordered(json::parse(text, "x")));
  EXPECT_EQ(ImageIndex::parse(x.dump(), "again"), x);
}

TEST(Index, LayoutExampleKeepsUnknownMediaTypes) {
  std::string text = readData("layout-index.json");
  ImageIndex x = ImageIndex::parse(text, "layout-index.json", {.strict = true});
  ASSERT_EQ(x.manifests.size(), 3u);
  EXPECT_EQ(x.manifests[2].mediaType, "application/xml");
  EXPECT_EQ(x.manifests[0].annotation("org.opencontainers.image.ref.name"), "stable-release");
  EXPECT_EQ(unordered(x.toJson()), unordered(json::parse(text, "x")));
}

TEST(Index, DockerManifestList) {
  std::string text = readData("docker-manifest-list.json");
  ImageIndex x = ImageIndex::parse(text, "docker-manifest-list.json", {.strict = true});
  EXPECT_TRUE(x.isDocker());
  ASSERT_EQ(x.manifests.size(), 6u);
  EXPECT_EQ(x.manifests[1].platform->features, std::vector<std::string>{"sse4"});
  EXPECT_EQ(x.manifests[5].platform->osVersion, "10.0.17763.1879");
  EXPECT_EQ(x.manifests[5].platform->osFeatures, std::vector<std::string>{"win32k"});
  EXPECT_EQ(unordered(x.toJson()), unordered(json::parse(text, "x")));
}

TEST(Index, MalformedFieldsNameTheirPath) {
  const BadCase cases[] = {
      {"no manifests", [](Json& j) { j.erase("manifests"); },
       "manifests: required field is missing"},
      {"platform os", [](Json& j) { j["manifests"][1]["platform"].erase("os"); },
       "manifests[1].platform.os: required field is missing"},
      {"platform arch", [](Json& j) { j["manifests"][0]["platform"]["architecture"] = ""; },
       "manifests[0].platform.architecture: must not be empty"},
      {"os.features", [](Json& j) { j["manifests"][0]["platform"]["os.features"] = "x"; },
       "manifests[0].platform[\"os.features\"]: must be an array, not a string"},
      {"mediaType", [](Json& j) { j["mediaType"] = std::string(media::kImageManifest); },
       "mediaType: not an image index: \"application/vnd.oci.image.manifest.v1+json\""},
  };
  std::string text = readData("index.json");
  for (const auto& c : cases) {
    std::string bad = edited(text, c.edit);
    EXPECT_EQ(errorOf([&] { ImageIndex::parse(bad, "i"); }), c.error) << c.name;
  }
  std::string extra = edited(text, [](Json& j) { j["manifests"][0]["platform"]["x"] = 1; });
  EXPECT_EQ(errorOf([&] { ImageIndex::parse(extra, "i", {.strict = true}); }),
            "manifests[0].platform.x: unknown field");
  EXPECT_EQ(ImageIndex::parse(extra, "i").manifests[0].platform->extra.dump(), R"({"x":1})");
}

TEST(Index, ParseErrorNamesTheDocument) {
  EXPECT_EQ(errorOf([] { ImageIndex::parse(R"({"schemaVersion":2,"schemaVersion":2})", "idx"); }),
            "cannot parse idx: duplicate key \"schemaVersion\"");
}

}  // namespace
}  // namespace ferry::oci
