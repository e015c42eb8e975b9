// lookupUser/lookupGroup read the image's own /etc/passwd and /etc/group as the appc spec
// resolves app.user: a name match wins, a numeric argument may also match a uid (the first such
// entry, as getpwuid() finds it), and comments and malformed lines are skipped.
#include <gtest/gtest.h>

#include "formats/translate/oci_to_aci.hpp"

namespace ferry::translate {
namespace {

constexpr std::string_view kPasswd =
    "# a comment line, then an empty one\n"
    "\n"
    "root:x:0:0:root:/root:/bin/sh\n"
    "toor:x:0:5:second root:/root:/bin/sh\n"
    "short:x:7\n"
    "badgid:x:8:x:bad gid:/:/bin/false\n"
    "alice:x:1000:100:Alice:/home/alice:/bin/sh\n"
    "1000:x:2000:200:a user named 1000:/home/n:/bin/sh\n"
    "#bob:x:3000:300::/:/bin/sh\n"
    "nonl:x:4000:400::/:/bin/sh";  // no final newline

TEST(LookupUser, ByName) {
  auto e = lookupUser(kPasswd, "alice");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "alice");
  EXPECT_EQ(e->uid, 1000u);
  EXPECT_EQ(e->gid, 100u);
}

TEST(LookupUser, NumericArgumentPrefersANameMatch) {
  // appc (aci.md, app.user): resolve through /etc/passwd first, then take an all-numeric string
  // as a uid. So "1000" is the user named "1000" (uid 2000), not alice; ociToAci reports the
  // clash with OCI, whose runtimes take "1000" as uid 1000.
  auto e = lookupUser(kPasswd, "1000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "1000");
  EXPECT_EQ(e->uid, 2000u);
  EXPECT_EQ(e->gid, 200u);
  e = lookupUser(kPasswd, "2000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "1000");
}

TEST(LookupUser, NumericArgumentMatchesAUid) {
  auto e = lookupUser(kPasswd, "4000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "nonl");
}

TEST(LookupUser, FirstUidMatchWins) {
  auto e = lookupUser(kPasswd, "0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "root");
  EXPECT_EQ(e->gid, 0u);
}

TEST(LookupUser, NameIsNotMatchedAgainstUid) { EXPECT_FALSE(lookupUser(kPasswd, "x")); }

TEST(LookupUser, SkipsCommentsShortAndMalformedLines) {
  EXPECT_FALSE(lookupUser(kPasswd, "bob"));     // commented out
  EXPECT_FALSE(lookupUser(kPasswd, "short"));   // too few fields
  EXPECT_FALSE(lookupUser(kPasswd, "7"));       // same line by uid
  EXPECT_FALSE(lookupUser(kPasswd, "badgid"));  // gid not a number
  EXPECT_FALSE(lookupUser(kPasswd, "8"));
  EXPECT_FALSE(lookupUser(kPasswd, ""));
}

TEST(LookupUser, LastLineWithoutNewline) {
  auto e = lookupUser(kPasswd, "nonl");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->gid, 400u);
  EXPECT_EQ(lookupUser(kPasswd, "4000")->name, "nonl");
}

TEST(LookupUser, EmptyOrMissingDatabase) {
  EXPECT_FALSE(lookupUser("", "root"));
  EXPECT_FALSE(lookupUser("\n\n#\n", "0"));
}

TEST(LookupUser, MinimalFourFieldLine) {
  auto e = lookupUser("u:x:1:2", "u");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->uid, 1u);
  EXPECT_EQ(e->gid, 2u);
}

TEST(LookupUser, UidOutOfRangeIsSkipped) {
  EXPECT_FALSE(lookupUser("big:x:4294967296:0::/:\n", "big"));
  EXPECT_FALSE(lookupUser("neg:x:-1:0::/:\n", "neg"));
}

constexpr std::string_view kGroup =
    "# comment\n"
    "root:x:0:\n"
    "short:x\n"
    "wheel:x:10:root,alice\n"
    "#staff:x:50:\n"
    "100:x:101:\n"
    "last:x:77:";

TEST(LookupGroup, ByName) {
  EXPECT_EQ(lookupGroup(kGroup, "root"), 0u);
  EXPECT_EQ(lookupGroup(kGroup, "wheel"), 10u);
  EXPECT_EQ(lookupGroup(kGroup, "last"), 77u);
}

TEST(LookupGroup, NumericNameMatchesTheName) { EXPECT_EQ(lookupGroup(kGroup, "100"), 101u); }

TEST(LookupGroup, SkipsCommentsAndShortLines) {
  EXPECT_FALSE(lookupGroup(kGroup, "staff"));
  EXPECT_FALSE(lookupGroup(kGroup, "short"));
  EXPECT_FALSE(lookupGroup(kGroup, "nobody"));
  EXPECT_FALSE(lookupGroup("", "root"));
}

}  // namespace
}  // namespace ferry::translate
