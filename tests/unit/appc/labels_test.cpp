#include "formats/appc/labels.hpp"

#include <gtest/gtest.h>

#include "formats/appc/os_arch.hpp"
#include "test_util.hpp"

namespace ferry::appc {
namespace {

using json::Json;
using test::errorOf;

TEST(Labels, KeepOrderAndRejectDuplicates) {
  Json j = json::parse(R"([{"name":"version","value":"1"},{"name":"os","value":"linux"}])", "t");
  Labels l = Labels::fromJson(j, "labels");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.items()[0].name.str(), "version");
  EXPECT_EQ(l.get("os"), "linux");
  EXPECT_FALSE(l.get("arch"));
  EXPECT_EQ(l.toJson(), j);

  EXPECT_EQ(errorOf([] {
              Labels::fromJson(
                  json::parse(R"([{"name":"a","value":"1"},{"name":"a","value":"2"}])", "t"),
                  "labels");
            }),
            "labels[1].name: duplicate label \"a\"");
  EXPECT_EQ(errorOf([] {
              Labels::fromJson(json::parse(R"([{"name":"name","value":"x"}])", "t"), "labels");
            }),
            "labels[0].name: a label may not be called \"name\" (the image name is not a label)");
  EXPECT_EQ(errorOf([] {
              Labels::fromJson(json::parse(R"([{"name":"Os","value":"x"}])", "t"), "labels");
            }).substr(0, 40),
            "labels[0].name: invalid AC Identifier \"O");
  EXPECT_EQ(errorOf([] {
              Labels::fromJson(json::parse(R"([{"name":"os","value":"x","extra":1}])", "t"),
                               "labels");
            }),
            "labels[0].extra: unknown field");
  EXPECT_EQ(errorOf([] { Labels::fromJson(json::parse(R"([{"name":"os"}])", "t"), "labels"); }),
            "labels[0].value: required field is missing");
  EXPECT_EQ(
      errorOf([] { Labels::fromJson(json::parse(R"([{"name":"os","value":1}])", "t"), "labels"); }),
      "labels[0].value: must be a string, not an integer");
  EXPECT_EQ(errorOf([] { Labels::fromJson(json::parse(R"({})", "t"), "labels"); }),
            "labels: must be an array, not an object");
}

TEST(Labels, EditInCode) {
  Labels l{{"os", "linux"}};
  l.add(AcIdentifier::parse("arch"), "amd64");
  EXPECT_THROW(l.add(AcIdentifier::parse("os"), "freebsd"), Error);
  l.set(AcIdentifier::parse("os"), "freebsd");
  EXPECT_EQ(l.get("os"), "freebsd");
  EXPECT_EQ(l.items()[0].name.str(), "os");  // replaced in place
  EXPECT_TRUE(l.remove("os"));
  EXPECT_FALSE(l.remove("os"));
  EXPECT_EQ(l.size(), 1u);
  EXPECT_THROW(l.add(AcIdentifier::parse("name"), "x"), Error);
}

TEST(Annotations, AcIdentifierNames) {
  Json j =
      json::parse(R"([{"name":"appc.io/executor/supports-systemd-notify","value":"true"}])", "t");
  EXPECT_EQ(Annotations::fromJson(j, "a").toJson(), j);
  Annotations a;
  a.add(AcIdentifier::parse("name"), "allowed");  // only labels reserve "name"
  EXPECT_EQ(errorOf([] {
              Annotations::fromJson(
                  json::parse(R"([{"name":"x","value":"1"},{"name":"x","value":"2"}])", "t"),
                  "annotations");
            }),
            "annotations[1].name: duplicate annotation \"x\"");
}

TEST(Environment, Names) {
  for (const char* good : {"PATH", "_", "a1", "REDUCE_WORKER_DEBUG", "lower_case"}) {
    EXPECT_TRUE(isValidEnvironmentName(good)) << good;
  }
  for (const char* bad : {"", "1A", "A-B", "A=B", "A B", "É"}) {
    EXPECT_FALSE(isValidEnvironmentName(bad)) << bad;
  }
  EXPECT_EQ(errorOf([] {
              Environment::fromJson(json::parse(R"([{"name":"9LIVES","value":"x"}])", "t"),
                                    "app.environment");
            }),
            "app.environment[0].name: invalid environment variable name \"9LIVES\": must be "
            "letters, digits and '_', not beginning with a digit");
  EXPECT_EQ(errorOf([] {
              Environment::fromJson(
                  json::parse(R"([{"name":"A","value":"x"},{"name":"A","value":"y"}])", "t"),
                  "env");
            }),
            "env[1].name: duplicate environment variable \"A\"");
  Environment e{{"HOME", "/root"}};
  e.set("HOME", "/home/x");
  EXPECT_EQ(e.get("HOME"), "/home/x");
}

TEST(OsArch, Whitelist) {
  EXPECT_TRUE(isValidOsArch("linux", "amd64"));
  EXPECT_TRUE(isValidOsArch("linux", "s390x"));
  EXPECT_TRUE(isValidOsArch("darwin", "x86_64"));
  EXPECT_FALSE(isValidOsArch("darwin", "amd64"));
  EXPECT_FALSE(isValidOsArch("linux", "x86_64"));
  EXPECT_FALSE(isValidOsArch("windows", "amd64"));

  EXPECT_NO_THROW(validateOsArch(Labels{{"os", "linux"}, {"arch", "armv7l"}}));
  EXPECT_NO_THROW(validateOsArch(Labels{{"os", "linux"}}));
  EXPECT_NO_THROW(validateOsArch(Labels{{"arch", "anything"}}));  // no os: arch has no meaning
  EXPECT_NO_THROW(validateOsArch(Labels{}));
  EXPECT_EQ(errorOf([] {
              validateOsArch(Labels{{"os", "linux"}, {"arch", "x86_64"}});
            }),
            "bad arch \"x86_64\" for os \"linux\" (must be one of: amd64, i386, aarch64, "
            "aarch64_be, armv6l, armv7l, armv7b, ppc64, ppc64le, s390x)");
  EXPECT_EQ(errorOf([] {
              validateOsArch(Labels{{"os", "plan9"}});
            }),
            "bad os \"plan9\" (must be one of: linux, freebsd, darwin)");
}

TEST(OsArch, ToOciPlatform) {
  struct Case {
    const char *os, *arch, *ociArch, *variant;
  } cases[] = {
      {"linux", "amd64", "amd64", ""},     {"linux", "i386", "386", ""},
      {"linux", "aarch64", "arm64", ""},   {"linux", "armv6l", "arm", "v6"},
      {"linux", "armv7l", "arm", "v7"},    {"linux", "ppc64", "ppc64", ""},
      {"linux", "ppc64le", "ppc64le", ""}, {"linux", "s390x", "s390x", ""},
      {"freebsd", "amd64", "amd64", ""},   {"freebsd", "i386", "386", ""},
      {"freebsd", "arm", "arm", "v6"},     {"darwin", "x86_64", "amd64", ""},
      {"darwin", "i386", "386", ""},
  };
  for (const auto& c : cases) {
    auto p = toOciPlatform(c.os, c.arch);
    ASSERT_TRUE(p) << c.os << "/" << c.arch;
    EXPECT_EQ(*p, (OciPlatform{c.os, c.ociArch, c.variant}));
    // …and back.
    auto back = fromOciPlatform(p->os, p->architecture, p->variant);
    ASSERT_TRUE(back) << c.os << "/" << c.arch;
    EXPECT_EQ(*back, (AppcOsArch{c.os, c.arch}));
  }
  EXPECT_FALSE(toOciPlatform("linux", "aarch64_be"));
  EXPECT_FALSE(toOciPlatform("linux", "armv7b"));
  EXPECT_FALSE(toOciPlatform("linux", "x86_64"));
  EXPECT_FALSE(toOciPlatform("windows", "amd64"));
}

TEST(OsArch, FromOciPlatform) {
  EXPECT_EQ(fromOciPlatform("linux", "arm64", "v8"), (AppcOsArch{"linux", "aarch64"}));
  EXPECT_EQ(fromOciPlatform("linux", "arm"), (AppcOsArch{"linux", "armv6l"}));
  EXPECT_EQ(fromOciPlatform("freebsd", "arm", "v7"), (AppcOsArch{"freebsd", "arm"}));
  EXPECT_EQ(fromOciPlatform("darwin", "amd64"), (AppcOsArch{"darwin", "x86_64"}));
  EXPECT_FALSE(fromOciPlatform("linux", "arm", "v8"));
  EXPECT_FALSE(fromOciPlatform("linux", "amd64", "v3"));
  EXPECT_FALSE(fromOciPlatform("linux", "riscv64"));
  EXPECT_FALSE(fromOciPlatform("windows", "amd64"));
  EXPECT_FALSE(fromOciPlatform("darwin", "arm64"));
}

}  // namespace
}  // namespace ferry::appc
