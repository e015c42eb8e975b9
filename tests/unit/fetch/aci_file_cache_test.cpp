// The ACI file cache never matches a file that changed after it was recorded.
#include "stage0/fetch/aci_file_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/fs.hpp"

namespace ferry::fetch {
namespace {

namespace fs = std::filesystem;

const std::string kId = "sha512-" + std::string(128, 'a');
const std::string kOriginal = "sha512:" + std::string(128, 'b');
const AciFileCache::Entry kEntry{kId, kOriginal};

std::optional<std::string> idOf(const std::optional<AciFileCache::Entry>& e) {
  if (!e) return std::nullopt;
  EXPECT_EQ(e->original, kOriginal);
  return e->imageId;
}

struct stat statOf(const fs::path& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st;
}

// A clock reading well after the file's change time: the file counts as old.
struct timespec later(const struct stat& st) {
  struct timespec t = st.st_ctim;
  t.tv_sec += AciFileCache::kRacyWindow.count() + 10;
  return t;
}

class AciFileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ferry-aci-cache-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = dir_ / "app.aci";
    writeFileAtomic(file_, "0123456789abcdef");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Records the file as it is now; returns its identity.
  struct stat recordNow(const AciFileCache& cache) {
    struct stat st = statOf(file_);
    EXPECT_TRUE(cache.record(st, st, later(st), kEntry));
    return st;
  }

  fs::path dir_;
  fs::path file_;
};

TEST_F(AciFileCacheTest, AnUnchangedFileMatches) {
  AciFileCache cache(dir_ / "cache");
  EXPECT_EQ(idOf(cache.lookup(statOf(file_))), std::nullopt);
  recordNow(cache);
  EXPECT_EQ(idOf(cache.lookup(statOf(file_))), kId);
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(AciFileCacheTest, ATouchedFileIsReadAgain) {
  AciFileCache cache(dir_ / "cache");
  struct stat old = recordNow(cache);
  struct timespec t[2] = {{old.st_mtim.tv_sec + 5, 0}, {old.st_mtim.tv_sec + 5, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file_.c_str(), t, 0), 0);
  EXPECT_EQ(idOf(cache.lookup(statOf(file_))), std::nullopt);
}

TEST_F(AciFileCacheTest, ARewriteOfTheSameSizeWithItsTimesPutBackIsReadAgain) {
  AciFileCache cache(dir_ / "cache");
  struct stat old = recordNow(cache);
  // The hostile swap: other content of the same size, written in place (same inode), and the
  // modification time restored. Only the change time tells, and no caller can set it.
  ::usleep(20'000);  // a few clock ticks: the kernel stamps change times from a coarse clock
  {
    UniqueFd fd = openFile(file_, O_WRONLY);
    writeAll(fd.get(), "FEDCBA9876543210", 16, file_.string());
    struct timespec t[2] = {old.st_atim, old.st_mtim};
    ASSERT_EQ(::futimens(fd.get(), t), 0);
  }
  struct stat now = statOf(file_);
  ASSERT_EQ(now.st_ino, old.st_ino);
  ASSERT_EQ(now.st_size, old.st_size);
  ASSERT_EQ(now.st_mtim.tv_sec, old.st_mtim.tv_sec);
  ASSERT_EQ(now.st_mtim.tv_nsec, old.st_mtim.tv_nsec);
  EXPECT_EQ(idOf(cache.lookup(now)), std::nullopt);
}

TEST_F(AciFileCacheTest, AFileRenamedOverThePathIsReadAgain) {
  AciFileCache cache(dir_ / "cache");
  struct stat old = recordNow(cache);
  fs::path other = dir_ / "other.aci";
  writeFileAtomic(other, "FEDCBA9876543210");
  struct timespec t[2] = {old.st_atim, old.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, other.c_str(), t, 0), 0);
  ASSERT_EQ(::rename(other.c_str(), file_.c_str()), 0);
  EXPECT_EQ(idOf(cache.lookup(statOf(file_))), std::nullopt);
}

TEST_F(AciFileCacheTest, AFileChangedDuringTheReadIsNotRecorded) {
  AciFileCache cache(dir_ / "cache");
  struct stat before = statOf(file_);
  ::usleep(20'000);
  writeFileAtomic(file_, "FEDCBA9876543210");  // another inode
  struct stat after = statOf(file_);
  EXPECT_FALSE(cache.record(before, after, later(after), kEntry));
  EXPECT_EQ(idOf(cache.lookup(before)), std::nullopt);
  EXPECT_EQ(idOf(cache.lookup(after)), std::nullopt);
}

TEST_F(AciFileCacheTest, ARecentlyChangedFileIsNotRecorded) {
  // Changed within the racy window of the clock reading: a write in the same clock tick could
  // leave every field as recorded, so the file is read again next time.
  AciFileCache cache(dir_ / "cache");
  struct stat st = statOf(file_);
  struct timespec justAfter = st.st_ctim;
  justAfter.tv_sec += AciFileCache::kRacyWindow.count() - 1;
  EXPECT_FALSE(cache.record(st, st, justAfter, kEntry));
  EXPECT_FALSE(cache.record(st, st, st.st_ctim, kEntry));
  EXPECT_EQ(idOf(cache.lookup(st)), std::nullopt);
}

TEST_F(AciFileCacheTest, AnEntryForAnotherIdentityOrACorruptEntryNeverMatches) {
  AciFileCache cache(dir_ / "cache");
  struct stat st = recordNow(cache);
  struct stat other = st;
  other.st_size += 1;
  EXPECT_EQ(idOf(cache.lookup(other)), std::nullopt);
  other = st;
  other.st_ctim.tv_nsec ^= 1;
  EXPECT_EQ(idOf(cache.lookup(other)), std::nullopt);
  // A truncated or garbled entry is a miss, not an error.
  for (const auto& e : fs::directory_iterator(dir_ / "cache")) {
    std::string text = readFile(e.path());
    writeFileAtomic(e.path(), text.substr(0, text.size() - 10), 0600);
  }
  EXPECT_EQ(idOf(cache.lookup(st)), std::nullopt);
  EXPECT_FALSE(cache.record(st, st, later(st), {"sha512-short", kOriginal}));
}

}  // namespace
}  // namespace ferry::fetch
