#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/unit/archive/test_util.hpp"

namespace ferry::archive {
namespace {

using test::Content;
using test::sh;

class ArchiveTest : public ::testing::Test {
 protected:
  TempDir dir_{std::filesystem::temp_directory_path(), "ferry-archive-test-"};
  std::filesystem::path p(const std::string& name) { return dir_.path() / name; }
};

Content sampleContent() {
  Content c;
  Entry d = dirEntry("dir", 0755);
  d.mtimeSec = 1700000000;
  d.mtimeNsec = 123456789;
  d.uname = "root";
  d.gname = "root";
  c.emplace_back(d, "");
  Entry f = fileEntry("dir/hello.txt", 5, 04755);
  f.uid = 1000;
  f.gid = 100;
  f.uname = "user";
  f.gname = "users";
  f.mtimeSec = 1600000000;
  f.xattrs["user.comment"] = "hi";
  f.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  c.emplace_back(f, "hello");
  c.emplace_back(symlinkEntry("dir/link", "../some/where"), "");
  c.emplace_back(hardlinkEntry("dir/hard", "dir/hello.txt"), "");
  std::string longName = "dir/" + std::string(120, 'x') + "/" + std::string(60, 'y');
  c.emplace_back(dirEntry(longName.substr(0, longName.rfind('/'))), "");
  c.emplace_back(fileEntry(longName, 3), "abc");
  return c;
}

TEST_F(ArchiveTest, RoundTripPlain) {
  Content c = sampleContent();
  test::writeArchive(p("a.tar"), c);
  ReadResult res;
  Content back = test::readArchive(p("a.tar"), {}, &res);
  ASSERT_EQ(back.size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(back[i].first, c[i].first) << c[i].first.path;
    EXPECT_EQ(back[i].second, c[i].second);
  }
  sh("tar -tvf " + p("a.tar").string() + " >/dev/null");
}

}  // namespace
}  // namespace ferry::archive
