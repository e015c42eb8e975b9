#include <gtest/gtest.h>

#include "common/error.hpp"
#include "discovery/appc_image_ref.hpp"

namespace ferry::discovery {
namespace {

const appc::OciPlatform kAmd64{"linux", "amd64", ""};

std::vector<std::pair<std::string, std::string>> labelsOf(const AppcImageRef& ref) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : ref.labels) out.emplace_back(l.name.str(), l.value);
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(AppcImageRef, NameAlone) {
  AppcImageRef ref = parseAppcImageRef("example.com/app", kAmd64);
  EXPECT_EQ(ref.name.str(), "example.com/app");
  EXPECT_EQ(labelsOf(ref), (Pairs{{"os", "linux"}, {"arch", "amd64"}}));
  EXPECT_EQ(ref.str(), "example.com/app,os=linux,arch=amd64");
}

TEST(AppcImageRef, VersionAndLabelsInOrder) {
  AppcImageRef ref = parseAppcImageRef("example.com/app:1.0.0,channel=alpha,arch=amd64", kAmd64);
  EXPECT_EQ(
      labelsOf(ref),
      (Pairs{{"version", "1.0.0"}, {"channel", "alpha"}, {"arch", "amd64"}, {"os", "linux"}}));
  EXPECT_EQ(ref.str(), "example.com/app:1.0.0,channel=alpha,arch=amd64,os=linux");
  EXPECT_EQ(parseAppcImageRef(ref.str(), kAmd64), ref);
}

TEST(AppcImageRef, VersionAsALabelAndValuesWithEquals) {
  AppcImageRef ref = parseAppcImageRef("coreos.com/etcd,version=v3.5.0,x=a=b", kAmd64);
  EXPECT_EQ(ref.labels.get("version"), "v3.5.0");
  EXPECT_EQ(ref.labels.get("x"), "a=b");
}

TEST(AppcImageRef, HostDefaultsFollowTheOs) {
  EXPECT_EQ(labelsOf(parseAppcImageRef("a", {"linux", "arm64", "v8"})),
            (Pairs{{"os", "linux"}, {"arch", "aarch64"}}));
  EXPECT_EQ(labelsOf(parseAppcImageRef("a", {"linux", "arm", "v7"})),
            (Pairs{{"os", "linux"}, {"arch", "armv7l"}}));
  // Given os, host arch as appc spells it for that os.
  EXPECT_EQ(labelsOf(parseAppcImageRef("a,os=freebsd", kAmd64)),
            (Pairs{{"os", "freebsd"}, {"arch", "amd64"}}));
  EXPECT_EQ(labelsOf(parseAppcImageRef("a,os=darwin", kAmd64)),
            (Pairs{{"os", "darwin"}, {"arch", "x86_64"}}));
  // Given arch, host os.
  EXPECT_EQ(labelsOf(parseAppcImageRef("a,arch=i386", kAmd64)),
            (Pairs{{"arch", "i386"}, {"os", "linux"}}));
  // A host appc has no name for: no default.
  EXPECT_EQ(labelsOf(parseAppcImageRef("a", {"linux", "mips64", ""})), Pairs{});
}

TEST(AppcImageRef, HostPlatformIsKnown) {
  appc::OciPlatform host = hostPlatform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
#if defined(__x86_64__)
  EXPECT_EQ(labelsOf(parseAppcImageRef("a")), (Pairs{{"os", "linux"}, {"arch", "amd64"}}));
#endif
}

std::string parseError(std::string_view s) {
  try {
    parseAppcImageRef(s, kAmd64);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kInvalid);
    return e.what();
  }
  return "(parsed)";
}

TEST(AppcImageRef, Invalid) {
  const std::string kIdent =
      "must be lowercase letters, digits and '-', '.', '_', '~', '/', beginning and ending with a "
      "letter or digit";
  EXPECT_EQ(parseError(""),
            "cannot parse image \"\": invalid AC Identifier \"\": must not be empty");
  EXPECT_EQ(parseError("Example.com/app"),
            "cannot parse image \"Example.com/app\": invalid AC Identifier \"Example.com/app\": " +
                kIdent);
  EXPECT_EQ(
      parseError("example.com/app/"),
      "cannot parse image \"example.com/app/\": invalid AC Identifier \"example.com/app/\": " +
          kIdent);
  EXPECT_EQ(parseError(":1.0"),
            "cannot parse image \":1.0\": invalid AC Identifier \"\": must not be empty");
  EXPECT_EQ(parseError("a:"), "cannot parse image \"a:\": empty version after ':'");
  EXPECT_EQ(parseError("a:1:2"), "cannot parse image \"a:1:2\": more than one ':'");
  EXPECT_EQ(parseError("a,b"),
            "cannot parse image \"a,b\": label \"b\" has no value (want label=value)");
  EXPECT_EQ(parseError("a,b="), "cannot parse image \"a,b=\": label \"b\" has an empty value");
  EXPECT_EQ(parseError("a,,b=c"),
            "cannot parse image \"a,,b=c\": empty label (two commas, or a trailing one)");
  EXPECT_EQ(parseError("a,"),
            "cannot parse image \"a,\": empty label (two commas, or a trailing one)");
  EXPECT_EQ(parseError("a:1.0,version=2.0"),
            "cannot parse image \"a:1.0,version=2.0\": duplicate label \"version\"");
  EXPECT_EQ(parseError("a,x=1,x=2"), "cannot parse image \"a,x=1,x=2\": duplicate label \"x\"");
  EXPECT_EQ(parseError("a,name=b"),
            "cannot parse image \"a,name=b\": a label may not be called \"name\" (the image name "
            "is not a label)");
  EXPECT_EQ(parseError("a,Os=linux"),
            "cannot parse image \"a,Os=linux\": invalid AC Identifier \"Os\": " + kIdent);
  EXPECT_EQ(parseError("a,=x"),
            "cannot parse image \"a,=x\": invalid AC Identifier \"\": must not be empty");
  EXPECT_EQ(
      parseError("a,os=plan9").rfind("cannot parse image \"a,os=plan9\": bad os \"plan9\"", 0), 0u);
  EXPECT_EQ(
      parseError("a,arch=sparc")
          .rfind("cannot parse image \"a,arch=sparc\": bad arch \"sparc\" for os \"linux\"", 0),
      0u);
}

TEST(CheckManifestMatches, SpecRules) {
  AppcImageRef ref = parseAppcImageRef("example.com/app:1.0", kAmd64);
  auto name = appc::AcIdentifier::parse("example.com/app");
  appc::Labels exact{{"version", "1.0"}, {"os", "linux"}, {"arch", "amd64"}};
  EXPECT_NO_THROW(checkManifestMatches(ref, name, exact));
  // Labels not asked for may be anything.
  appc::Labels more{{"arch", "amd64"}, {"os", "linux"}, {"version", "1.0"}, {"channel", "beta"}};
  EXPECT_NO_THROW(checkManifestMatches(ref, name, more));

  auto error = [&](const appc::AcIdentifier& n, const appc::Labels& l) {
    try {
      checkManifestMatches(ref, n, l);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid);
      return std::string(e.what());
    }
    return std::string("(matched)");
  };
  EXPECT_EQ(
      error(appc::AcIdentifier::parse("example.com/other"), exact),
      "image \"example.com/other\" does not match \"example.com/app:1.0,os=linux,arch=amd64\": "
      "its name is \"example.com/other\"");
  EXPECT_EQ(error(name, appc::Labels{{"version", "1.1"}, {"os", "linux"}, {"arch", "amd64"}}),
            "image \"example.com/app\" does not match \"example.com/app:1.0,os=linux,arch=amd64\": "
            "its label \"version\" is \"1.1\", not \"1.0\"");
  EXPECT_EQ(error(name, appc::Labels{{"version", "1.0"}, {"os", "linux"}}),
            "image \"example.com/app\" does not match \"example.com/app:1.0,os=linux,arch=amd64\": "
            "it has no label \"arch\"");
}

}  // namespace
}  // namespace ferry::discovery
