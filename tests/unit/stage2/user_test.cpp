#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage2/user.hpp"

namespace ferry::stage2 {
namespace {

namespace fs = std::filesystem;

TEST(Passwd, ParsesEntriesAndSkipsNoise) {
  auto e = parsePasswd(
      "# comment\n"
      "root:x:0:0:root:/root:/bin/sh\r\n"
      "\n"
      "+nisuser::::::\n"
      "broken line\n"
      "baduid:x:abc:1:::\n"
      "toolarge:x:4294967295:1:::\n"
      "short:x:5:6\n"
      "app:x:1000:1001:App,,,:/home/app:/bin/false");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].name, "root");
  EXPECT_EQ(e[0].home, "/root");
  EXPECT_EQ(e[1].name, "short");
  EXPECT_EQ(e[1].uid, 5u);
  EXPECT_EQ(e[1].gid, 6u);
  EXPECT_EQ(e[2].uid, 1000u);
  EXPECT_EQ(e[2].gid, 1001u);
  EXPECT_EQ(e[2].home, "/home/app");
}

TEST(Group, ParsesMembers) {
  auto g = parseGroup("root:x:0:\nwheel:x:10:alice,bob,\n#x:x:1:\nnogid:x::\n");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].gid, 0u);
  EXPECT_TRUE(g[0].members.empty());
  EXPECT_EQ(g[1].name, "wheel");
  EXPECT_EQ(g[1].members, (std::vector<std::string>{"alice", "bob"}));
}

TEST(ParseId, AcceptsDecimalIdsOnly) {
  EXPECT_EQ(parseId("0"), 0u);
  EXPECT_EQ(parseId("4294967294"), 4294967294u);
  EXPECT_EQ(parseId("4294967295"), std::nullopt);  // (uid_t)-1
  EXPECT_EQ(parseId("99999999999"), std::nullopt);
  EXPECT_EQ(parseId("-1"), std::nullopt);
  EXPECT_EQ(parseId("12a"), std::nullopt);
  EXPECT_EQ(parseId(""), std::nullopt);
  EXPECT_EQ(parseId("+1"), std::nullopt);
}

class Root : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "root/etc");
    fs::create_directories(dir_.path() / "root/data");
    write("root/etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    write("root/etc/group", "root:x:0:\nstaff:x:50:app\n");
    // What the host would answer: must never be read.
    write("host-passwd", "app:x:4242:4242::/:/bin/sh\n");
    ASSERT_EQ(chown((dir_.path() / "root/data").c_str(), 1234, 5678), 0);
    fd_ = UniqueFd(open((dir_.path() / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd_);
  }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_.path() / rel) << text;
  }
  oci::RuntimeSpec spec(std::optional<std::string> user, std::optional<std::string> group) {
    oci::RuntimeSpec s;
    s.process.emplace();
    s.process->args = {"x"};
    s.process->user.uid = 7;
    s.process->user.gid = 8;
    s.process->user.additionalGids = {9, 10};
    if (user) s.annotations[std::string(kUserAnnotation)] = *user;
    if (group) s.annotations[std::string(kGroupAnnotation)] = *group;
    return s;
  }
  TempDir dir_{fs::temp_directory_path(), "stage2-user-"};
  UniqueFd fd_;
};

TEST_F(Root, ProcessUserWithoutAnnotations) {
  Credentials c = resolveCredentials(spec(std::nullopt, std::nullopt), fd_.get());
  EXPECT_EQ(c.uid, 7u);
  EXPECT_EQ(c.gid, 8u);
  EXPECT_EQ(c.additionalGids, (std::vector<gid_t>{9, 10}));
}

TEST_F(Root, NamesNumbersAndPathOwners) {
  Credentials c = resolveCredentials(spec("app", "staff"), fd_.get());
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 50u);
  EXPECT_EQ(c.additionalGids, (std::vector<gid_t>{9, 10}));
  c = resolveCredentials(spec("42", "43"), fd_.get());
  EXPECT_EQ(c.uid, 42u);
  EXPECT_EQ(c.gid, 43u);
  c = resolveCredentials(spec("/data", "/data"), fd_.get());
  EXPECT_EQ(c.uid, 1234u);
  EXPECT_EQ(c.gid, 5678u);
}

TEST_F(Root, UnknownNamesAreErrorsNamingThem) {
  try {
    resolveCredentials(spec("nobody", std::nullopt), fd_.get());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot resolve user \"nobody\": no such user in the app's \"/etc/passwd\"");
  }
  try {
    resolveCredentials(spec(std::nullopt, "/missing"), fd_.get());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "cannot resolve group \"/missing\": cannot find \"/missing\" in the "
                 "app's root: No such file or directory");
  }
}

TEST_F(Root, SymlinksStayInsideTheRoot) {
  // An absolute symlink and one climbing with ".." both resolve inside the root: the host's
  // file beside the root is never read.
  fs::remove(dir_.path() / "root/etc/passwd");
  fs::create_symlink("../../host-passwd", dir_.path() / "root/etc/passwd");
  EXPECT_THROW(resolveCredentials(spec("app", std::nullopt), fd_.get()), Error);
  fs::remove(dir_.path() / "root/etc/passwd");
  fs::create_symlink("/etc/real-passwd", dir_.path() / "root/etc/passwd");
  write("root/etc/real-passwd", "app:x:77:77::/:/bin/sh\n");
  EXPECT_EQ(resolveCredentials(spec("app", std::nullopt), fd_.get()).uid, 77u);
}

}  // namespace
}  // namespace ferry::stage2
