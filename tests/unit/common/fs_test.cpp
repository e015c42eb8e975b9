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

}  // namespace
}  // namespace ferry
