#include <gtest/gtest.h>

#include "formats/oci/image_config.hpp"
#include "test_util.hpp"

namespace ferry::oci {
namespace {

using namespace test;
using json::Json;

TEST(ImageConfig, SpecExampleRoundTrips) {
  std::string text = readData("config.json");
  ImageConfig c = ImageConfig::parse(text, "config.json", {.strict = true});
  EXPECT_EQ(c.architecture, "amd64");
  EXPECT_EQ(c.os, "linux");
  EXPECT_EQ(c.author, "Alyssa P. Hacker <alyspdev@example.com>");
  ASSERT_TRUE(c.config);
  EXPECT_EQ(c.config->user, "alice");
  EXPECT_EQ(c.config->memory, 2048);
  EXPECT_EQ(c.config->exposedPorts, std::set<std::string>{"8080/tcp"});
  EXPECT_EQ(c.config->entrypoint, std::vector<std::string>{"/bin/my-app-binary"});
  EXPECT_EQ(c.config->cmd->size(), 3u);
  EXPECT_EQ(c.config->volumes->size(), 2u);
  EXPECT_EQ(c.config->labels->size(), 2u);
  EXPECT_EQ(c.rootfs.diffIds.size(), 2u);
  ASSERT_EQ(c.history.size(), 2u);
  EXPECT_EQ(c.history[1].emptyLayer, true);
  EXPECT_EQ(c.nonEmptyHistory(), 1u);
  EXPECT_EQ(unordered(c.toJson()), unordered(json::parse(text, "x")));
  EXPECT_EQ(ImageConfig::parse(c.dump(), "again"), c);
}

TEST(ImageConfig, DockerConfigWithDockerOnlyFields) {
  std::string text = readData("docker-config.json");
  ImageConfig c = ImageConfig::parse(text, "docker-config.json", {.strict = true});
  ASSERT_TRUE(c.config);
  EXPECT_EQ(c.config->hostname, "");
  EXPECT_EQ(c.config->attachStdin, false);
  EXPECT_EQ(c.config->argsEscaped, true);
  EXPECT_EQ(c.config->stopSignal, "SIGQUIT");
  EXPECT_FALSE(c.config->volumes);  // null
  EXPECT_FALSE(c.config->onBuild);  // null
  ASSERT_TRUE(c.config->healthcheck);
  EXPECT_EQ(c.config->healthcheck->interval, 30000000000);
  EXPECT_EQ(c.config->healthcheck->retries, 3);
  EXPECT_EQ(c.config->shell, (std::vector<std::string>{"/bin/bash", "-c"}));
  EXPECT_EQ(c.dockerVersion, "20.10.23");
  ASSERT_TRUE(c.containerConfig);
  EXPECT_EQ(c.containerConfig->labels, (std::map<std::string, std::string>{}));
  EXPECT_EQ(c.history[2].comment, "buildkit.dockerfile.v0");
  EXPECT_EQ(c.nonEmptyHistory(), 2u);
  // Docker-only fields survive; nulls read as absent (config.md) and are not written back.
  EXPECT_EQ(unordered(c.toJson()), unordered(withoutNulls(json::parse(text, "x"))));
  EXPECT_EQ(ImageConfig::parse(c.dump(), "again", {.strict = true}), c);
}

TEST(ImageConfig, BuildkitExtensionsAreKept) {
  std::string text = edited(readData("docker-config.json"), [](Json& j) {
    j["moby.buildkit.buildinfo.v1"] = "eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==";
    j["config"]["X-Custom"] = {1, 2};
  });
  ImageConfig c = ImageConfig::parse(text, "c");
  EXPECT_EQ(c.extra.size(), 1u);
  EXPECT_EQ(c.config->extra.dump(), R"({"X-Custom":[1,2]})");
  EXPECT_EQ(unordered(c.toJson()), unordered(withoutNulls(json::parse(text, "x"))));
  EXPECT_EQ(errorOf([&] { ImageConfig::parse(text, "c", {.strict = true}); }),
            "config.X-Custom: unknown field");
}

struct BadCase {
  const char* name;
  void (*edit)(Json&);
  const char* error;
};

TEST(ImageConfig, MalformedFieldsNameTheirPath) {
  const BadCase cases[] = {
      {"no arch", [](Json& j) { j.erase("architecture"); },
       "architecture: required field is missing"},
      {"no rootfs", [](Json& j) { j.erase("rootfs"); }, "rootfs: required field is missing"},
      {"rootfs type", [](Json& j) { j["rootfs"]["type"] = "tarball"; },
       "rootfs.type: must be \"layers\", not \"tarball\""},
      {"diff id", [](Json& j) { j["rootfs"]["diff_ids"][1] = "sha256:XYZ"; },
       "rootfs.diff_ids[1]: invalid sha256 digest \"XYZ\": want 64 lowercase hex digits"},
      {"env entry", [](Json& j) { j["config"]["Env"][2] = 7; },
       "config.Env[2]: must be a string, not an integer"},
      {"ports value",
       [](Json& j) {
         j["config"]["ExposedPorts"]["8080/tcp"] = {{"a", 1}};
       },
       "config.ExposedPorts[\"8080/tcp\"]: must be an empty object"},
      {"volumes", [](Json& j) { j["config"]["Volumes"] = {"/a"}; },
       "config.Volumes: must be an object, not an array"},
      {"labels", [](Json& j) { j["config"]["Labels"]["com.example.x"] = false; },
       "config.Labels[\"com.example.x\"]: must be a string, not a boolean"},
      {"history", [](Json& j) { j["history"][1]["empty_layer"] = "yes"; },
       "history[1].empty_layer: must be a boolean, not a string"},
      {"memory swap", [](Json& j) { j["config"]["MemorySwap"] = -2; },
       "config.MemorySwap: must be between -1 and 9223372036854775807"},
  };
  std::string text = readData("config.json");
  for (const auto& c : cases) {
    std::string bad = edited(text, c.edit);
    EXPECT_EQ(errorOf([&] { ImageConfig::parse(bad, "c"); }), c.error) << c.name;
  }
}

TEST(ImageConfig, HealthcheckErrorsNameTheirPath) {
  std::string bad = edited(readData("docker-config.json"),
                           [](Json& j) { j["config"]["Healthcheck"]["Retries"] = -1; });
  EXPECT_EQ(errorOf([&] { ImageConfig::parse(bad, "c"); }),
            "config.Healthcheck.Retries: must be between 0 and 9223372036854775807");
}

}  // namespace
}  // namespace ferry::oci
