#include <gtest/gtest.h>

#include "formats/oci/platform.hpp"
#include "test_util.hpp"

namespace ferry::oci {
namespace {

using namespace test;

ImageIndex dockerList() { return ImageIndex::parse(readData("docker-manifest-list.json"), "list"); }

TEST(Platform, ParseAndPrint) {
  EXPECT_EQ(parsePlatform("linux/arm/v7").str(), "linux/arm/v7");
  EXPECT_EQ(parsePlatform("linux/amd64").str(), "linux/amd64");
  EXPECT_FALSE(parsePlatform("linux/amd64").variant);
  EXPECT_EQ(errorOf([] { parsePlatform("linux"); }),
            "invalid platform \"linux\": want os/architecture[/variant]");
  EXPECT_EQ(errorOf([] { parsePlatform("linux//v7"); }),
            "invalid platform \"linux//v7\": want os/architecture[/variant]");
}

TEST(Platform, HostIsLinux) {
  Platform h = hostPlatform();
  EXPECT_EQ(h.os, "linux");
  EXPECT_FALSE(h.architecture.empty());
}

TEST(Platform, Normalize) {
  EXPECT_EQ(normalize(parsePlatform("linux/x86_64")).str(), "linux/amd64");
  EXPECT_EQ(normalize(parsePlatform("linux/aarch64")).str(), "linux/arm64/v8");
  EXPECT_EQ(normalize(parsePlatform("linux/armhf")).str(), "linux/arm/v7");
}

TEST(Platform, SelectsByOsArchVariant) {
  ImageIndex x = dockerList();
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/amd64")).digest.hex().substr(0, 4), "5b0b");
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/x86_64")).digest.hex().substr(0, 4), "5b0b");
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/ppc64le")).digest.hex().substr(0, 4), "e692");
  EXPECT_EQ(selectManifest(x, parsePlatform("windows/amd64")).digest.hex().substr(0, 4), "4b0b");
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/arm/v7")).digest.hex().substr(0, 4), "2b0b");
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/arm/v6")).digest.hex().substr(0, 4), "1b0b");
  // A v8 32-bit arm host runs v7 code: the newest compatible variant wins.
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/arm/v8")).digest.hex().substr(0, 4), "2b0b");
  // arm64 and arm64/v8 are one platform.
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/arm64")).digest.hex().substr(0, 4), "3b0b");
  EXPECT_TRUE(platformMatches(parsePlatform("linux/arm64/v8"), parsePlatform("linux/arm64")));
  EXPECT_FALSE(platformMatches(parsePlatform("linux/arm/v6"), parsePlatform("linux/arm/v7")));
}

TEST(Platform, NoMatchListsAvailablePlatforms) {
  ImageIndex x = dockerList();
  EXPECT_EQ(errorOf([&] { selectManifest(x, parsePlatform("linux/s390x")); }),
            "cannot find an image for platform linux/s390x in the image index: available: "
            "linux/ppc64le, linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, "
            "windows/amd64");
  EXPECT_EQ(codeOf([&] { selectManifest(x, parsePlatform("linux/s390x")); }),
            errcName(Errc::kNotFound));
}

TEST(Platform, SkipsUnknownMediaTypesAndTakesAnOnlyUnlabelledManifest) {
  ImageIndex x = ImageIndex::parse(readData("layout-index.json"), "layout");
  // Entries: an index without platform, a ppc64le manifest, and application/xml.
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/ppc64le")).digest.hex().substr(0, 4), "e692");
  EXPECT_EQ(errorOf([&] { selectManifest(x, parsePlatform("linux/amd64")); }),
            "cannot find an image for platform linux/amd64 in the image index: available: "
            "(no platform) "
            "sha256:0228f90e926ba6b96e4f39cf294b2586d38fbb5a1e385c05cd1ee40ea54fe7fd, "
            "linux/ppc64le");
  x.manifests.erase(x.manifests.begin() + 1);
  EXPECT_EQ(selectManifest(x, parsePlatform("linux/amd64")).digest.hex().substr(0, 4), "0228");
}

}  // namespace
}  // namespace ferry::oci
