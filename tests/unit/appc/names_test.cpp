#include "formats/appc/names.hpp"

#include <gtest/gtest.h>

#include "formats/appc/image_id.hpp"
#include "formats/appc/semver.hpp"
#include "formats/appc/uuid.hpp"
#include "test_util.hpp"

namespace ferry::appc {
namespace {

using test::errorOf;

TEST(AcIdentifier, ValidAndInvalid) {
  for (const char* good :
       {"asdf", "foo-bar-baz", "zab_rab_oof", "database", "my~database", "example.com/database",
        "example.com/~bob/database", "example.com/ourapp-1.0.0", "a", "0",
        "sub-domain.example.com/org/product/~alice/release-1.0.0"}) {
    EXPECT_TRUE(AcIdentifier::isValid(good)) << good;
    EXPECT_EQ(AcIdentifier::parse(good).str(), good);
  }
  for (const char* bad : {"", "BAR", "foo#", "EXAMPLE.com", "foo.com/BAR", "/app", "app/", "-app",
                          "app-", ".app", "app.", "_app", "app_", "~app", "app~", "a b", "é"}) {
    EXPECT_FALSE(AcIdentifier::isValid(bad)) << bad;
    EXPECT_THROW(AcIdentifier::parse(bad), Error) << bad;
  }
  EXPECT_EQ(errorOf([] { AcIdentifier::parse("Foo"); }),
            "invalid AC Identifier \"Foo\": must be lowercase letters, digits and '-', '.', '_', "
            "'~', '/', beginning and ending with a letter or digit");
  EXPECT_EQ(errorOf([] { AcIdentifier::parse(""); }),
            "invalid AC Identifier \"\": must not be empty");
}

TEST(AcName, ValidAndInvalid) {
  for (const char* good : {"database", "product-database", "product-database-release", "a1", "9"}) {
    EXPECT_TRUE(AcName::isValid(good)) << good;
  }
  for (const char* bad : {"", "Database", "example.com/app", "a_b", "-a", "a-", "a.b", "a b"}) {
    EXPECT_FALSE(AcName::isValid(bad)) << bad;
    EXPECT_THROW(AcName::parse(bad), Error) << bad;
  }
  EXPECT_EQ(errorOf([] { AcName::parse("my_app"); }),
            "invalid AC Name \"my_app\": must be lowercase letters, digits and '-', beginning and "
            "ending with a letter or digit");
}

TEST(AcName, Sanitize) {
  EXPECT_EQ(AcName::sanitize("example.com/Reduce_Worker")->str(), "example-com-reduce-worker");
  EXPECT_EQ(AcName::sanitize("--x--")->str(), "x");
  EXPECT_EQ(AcName::sanitize("nginx")->str(), "nginx");
  EXPECT_FALSE(AcName::sanitize("__/"));
  EXPECT_FALSE(AcName::sanitize(""));
}

TEST(AcKind, ValidAndInvalid) {
  EXPECT_EQ(AcKind::parse("ImageManifest").str(), "ImageManifest");
  EXPECT_TRUE(AcKind::isValid("Foo2"));
  EXPECT_FALSE(AcKind::isValid(""));
  EXPECT_FALSE(AcKind::isValid("Image-Manifest"));
  EXPECT_EQ(errorOf([] { AcKind::parse("a b"); }),
            "invalid AC Kind \"a b\": must be a non-empty string of letters and digits");
}

const std::string kHex(128, 'a');

TEST(ImageId, ParseAndPrint) {
  ImageId id = ImageId::parse("sha512-" + kHex);
  EXPECT_EQ(id.hex(), kHex);
  EXPECT_EQ(id.str(), "sha512-" + kHex);
  EXPECT_EQ(id.algorithm(), "sha512");
  EXPECT_EQ(id.digest().str(), "sha512:" + kHex);
  EXPECT_EQ(ImageId::fromSha512Hex(kHex), id);
  EXPECT_EQ(ImageId::fromDigest(Digest::parse("sha512:" + kHex)), id);
}

TEST(ImageId, Rejects) {
  EXPECT_EQ(errorOf([] { ImageId::parse("sha256-" + std::string(64, 'a')); }),
            "invalid image ID \"sha256-" + std::string(64, 'a') +
                "\": unsupported hash algorithm \"sha256\" (only sha512 is allowed)");
  EXPECT_EQ(errorOf([] { ImageId::parse("sha512-..."); }),
            "invalid image ID \"sha512-...\": the digest must be 128 lowercase hex digits");
  EXPECT_THROW(ImageId::parse("sha512-" + std::string(128, 'A')), Error);
  EXPECT_THROW(ImageId::parse("sha512-" + std::string(127, 'a')), Error);
  EXPECT_THROW(ImageId::parse("sha512:" + kHex), Error);
  EXPECT_THROW(ImageId::parse(""), Error);
  EXPECT_THROW(ImageId::fromSha512Hex("abc"), Error);
  try {
    ImageId::fromDigest(Digest::parse("sha256:" + std::string(64, 'b')));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
  }
}

TEST(Uuid, ParseAndPrint) {
  Uuid u = Uuid::parse("6733C088-A507-4694-AABF-EDBE4FC5266F");
  EXPECT_EQ(u.str(), "6733c088-a507-4694-aabf-edbe4fc5266f");
  EXPECT_EQ(Uuid::parse("6733c088a5074694aabfedbe4fc5266f"), u);
  EXPECT_EQ(Uuid::fromBytes(u.bytes()), u);
  for (const char* bad :
       {"", "6733c088-a507-4694-aabf-edbe4fc5266", "6733c088a507-4694-aabf-edbe4fc5266f0",
        "6733c088-a507-4694-aabf-edbe4fc5266g", "not-a-uuid"}) {
    EXPECT_THROW(Uuid::parse(bad), Error) << bad;
  }
  std::array<uint8_t, 16> random;
  random.fill(0xff);
  EXPECT_EQ(Uuid::v4FromRandom(random).str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(SemVer, Parses) {
  SemVer v = SemVer::parse("1.22.333-rc.1.x-y+build.007");
  EXPECT_EQ(v.major(), 1u);
  EXPECT_EQ(v.minor(), 22u);
  EXPECT_EQ(v.patch(), 333u);
  EXPECT_EQ(v.prerelease(), (std::vector<std::string>{"rc", "1", "x-y"}));
  EXPECT_EQ(v.build(), (std::vector<std::string>{"build", "007"}));
  EXPECT_EQ(v.str(), "1.22.333-rc.1.x-y+build.007");
  EXPECT_EQ(SemVer::parse("0.8.11").str(), "0.8.11");
  EXPECT_EQ(appcVersion().str(), "0.8.11");
  for (const char* bad :
       {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "1.2.3-", "1.2.3+",
        "1.2.3-01", "1.2.3-a..b", "1.2.3-a_b", "a.b.c", "1.2.-3", " 1.2.3"}) {
    EXPECT_THROW(SemVer::parse(bad), Error) << bad;
  }
  EXPECT_EQ(errorOf([] { SemVer::parse("1.02.3"); }),
            "invalid version \"1.02.3\": minor version must not have leading zeros");
}

TEST(SemVer, Precedence) {
  // The ordering example of the SemVer 2.0.0 text.
  const char* ordered[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                           "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                           "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                           "1.1.0",       "2.0.0",         "10.0.0"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(SemVer::parse(ordered[i]).compare(SemVer::parse(ordered[i + 1])), 0) << ordered[i];
    EXPECT_GT(SemVer::parse(ordered[i + 1]).compare(SemVer::parse(ordered[i])), 0) << ordered[i];
  }
  EXPECT_EQ(SemVer::parse("1.0.0+a").compare(SemVer::parse("1.0.0+b")), 0);
  EXPECT_FALSE(SemVer::parse("1.0.0+a") == SemVer::parse("1.0.0+b"));
}

}  // namespace
}  // namespace ferry::appc
