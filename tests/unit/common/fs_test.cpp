#include "common/fs.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"

namespace ferry {
namespace {

TEST(Fs, AtomicWriteAndRead) {
  TempDir dir(std::filesystem::temp_directory_path(), "ferry-fs-test-");
  auto file = dir.path() / "f";
  writeFileAtomic(file, "hello");
  EXPECT_EQ(readFile(file), "hello");
  writeFileAtomic(file, "world", 0600);
  EXPECT_EQ(readFile(file), "world");
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_THROW(readFile(file, 3), Error);
}

TEST(Fs, TempDirRemovesItself) {
  std::filesystem::path kept;
  {
    TempDir dir(std::filesystem::temp_directory_path(), "ferry-fs-test-");
    kept = dir.path();
    writeFileAtomic(kept / "x", "1");
    EXPECT_TRUE(std::filesystem::exists(kept));
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

TEST(Fs, PathComponentsSkipEmptyAndDot) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(pathComponents("/a//./b/"), (V{"a", "b"}));
  EXPECT_EQ(pathComponents("a/../b"), (V{"a", "..", "b"}));
  EXPECT_EQ(pathComponents("/"), V{});
  EXPECT_EQ(pathComponents(""), V{});
  EXPECT_EQ(pathComponents("./x"), V{"x"});
}

TEST(Fs, UnescapesMountinfoFields) {
  EXPECT_EQ(unescapeMountinfo(R"(/a\040b\011c\012d\134e)"), "/a b\tc\nd\\e");
  EXPECT_EQ(unescapeMountinfo("/plain"), "/plain");
  // Not an escape: kept as written (a byte above \377 does not exist; too short at the end).
  EXPECT_EQ(unescapeMountinfo(R"(/x\400)"), R"(/x\400)");
  EXPECT_EQ(unescapeMountinfo(R"(/x\04)"), R"(/x\04)");
  EXPECT_EQ(unescapeMountinfo(R"(/x\)"), R"(/x\)");
  EXPECT_EQ(unescapeMountinfo(R"(/x\08a)"), R"(/x\08a)");
}

}  // namespace
}  // namespace ferry
