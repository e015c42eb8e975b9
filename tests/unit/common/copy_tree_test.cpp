#include "common/copy_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry {
namespace {

namespace fs = std::filesystem;

struct stat lstatOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

void setMtime(const fs::path& p, time_t sec, long nsec) {
  struct timespec t[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << p;
}

TEST(CopyTree, KeepsEveryKindOfEntryAndItsMetadata) {
  TempDir dir(fs::temp_directory_path(), "ferry-copy-test-");
  fs::path a = dir.path() / "a";
  fs::create_directories(a / "sub/deeper");
  writeFileAtomic(a / "sub/file", "content", 0640);
  ASSERT_EQ(::chown((a / "sub/file").c_str(), 1000, 50), 0);
  ASSERT_EQ(::chmod((a / "sub/file").c_str(), 04755), 0);  // after chown, which clears setuid
  ASSERT_EQ(::link((a / "sub/file").c_str(), (a / "hardlink").c_str()), 0);
  fs::create_symlink("sub/file", a / "rel-link");
  fs::create_symlink("/etc/passwd", a / "abs-link");
  ASSERT_EQ(::mkfifo((a / "fifo").c_str(), 0600), 0);
  bool devices = ::mknod((a / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  bool xattrs = ::setxattr((a / "sub/file").c_str(), "user.ferry", "v", 1, 0) == 0;
  ASSERT_EQ(::chmod((a / "sub/deeper").c_str(), 01777), 0);
  setMtime(a / "sub/file", 1000000000, 123456789);
  setMtime(a / "abs-link", 1100000000, 0);
  setMtime(a / "sub/deeper", 1200000000, 5);

  fs::path b = dir.path() / "b";
  copyTree(a, b);

  EXPECT_EQ(readFile(b / "sub/file"), "content");
  struct stat f = lstatOf(b / "sub/file");
  EXPECT_EQ(f.st_mode & 07777, 04755u);
  EXPECT_EQ(f.st_uid, 1000u);
  EXPECT_EQ(f.st_gid, 50u);
  EXPECT_EQ(f.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(f.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(f.st_nlink, 2u);
  EXPECT_EQ(lstatOf(b / "hardlink").st_ino, f.st_ino);
  EXPECT_NE(f.st_ino, lstatOf(a / "sub/file").st_ino);
  EXPECT_EQ(fs::read_symlink(b / "rel-link"), "sub/file");
  EXPECT_EQ(fs::read_symlink(b / "abs-link"), "/etc/passwd");
  EXPECT_EQ(lstatOf(b / "abs-link").st_mtim.tv_sec, 1100000000);
  EXPECT_TRUE(S_ISFIFO(lstatOf(b / "fifo").st_mode));
  struct stat d = lstatOf(b / "sub/deeper");
  EXPECT_EQ(d.st_mode & 07777, 01777u);
  EXPECT_EQ(d.st_mtim.tv_sec, 1200000000);
  if (devices) {
    struct stat n = lstatOf(b / "null");
    EXPECT_TRUE(S_ISCHR(n.st_mode));
    EXPECT_EQ(n.st_rdev, makedev(1, 3));
  }
  if (xattrs) {
    char v[8] = {};
    EXPECT_EQ(::getxattr((b / "sub/file").c_str(), "user.ferry", v, sizeof v), 1);
    EXPECT_EQ(v[0], 'v');
  }
}

TEST(CopyTree, ShiftsOwnersIntoARangeAndLeavesHostDevicesAndPrivilegesBehind) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  TempDir dir(fs::temp_directory_path(), "ferry-copy-test-");
  fs::path a = dir.path() / "a";
  fs::create_directories(a / "sub");
  writeFileAtomic(a / "sub/file", "content", 0640);
  ASSERT_EQ(::chown((a / "sub/file").c_str(), 1000, 50), 0);
  ASSERT_EQ(::chmod((a / "sub/file").c_str(), 04755), 0);
  writeFileAtomic(a / "far", "x", 0644);
  ASSERT_EQ(::chown((a / "far").c_str(), 70000, 0), 0);
  fs::create_symlink("sub/file", a / "link");
  ASSERT_EQ(::lchown((a / "link").c_str(), 7, 8), 0);
  ASSERT_EQ(::mkfifo((a / "fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mknod((a / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::link((a / "null").c_str(), (a / "null2").c_str()), 0);
  // A v2 file capability (CAP_NET_RAW, permitted), valid on the host, not in the copy.
  const unsigned char cap[20] = {0, 0, 0, 2, 0, 0x20, 0, 0};
  bool caps = ::setxattr((a / "sub/file").c_str(), "security.capability", cap, sizeof cap, 0) == 0;
  bool xattrs = ::setxattr((a / "sub/file").c_str(), "user.ferry", "v", 1, 0) == 0;

  fs::path b = dir.path() / "b";
  copyTree(a, b, {.idShift = 600000, .idCount = 65536});

  struct stat f = lstatOf(b / "sub/file");
  EXPECT_EQ(f.st_uid, 601000u);
  EXPECT_EQ(f.st_gid, 600050u);
  EXPECT_EQ(f.st_mode & 07777, 04755u);
  EXPECT_EQ(lstatOf(b).st_uid, 600000u);
  EXPECT_EQ(lstatOf(b / "sub").st_gid, 600000u);
  EXPECT_EQ(lstatOf(b / "far").st_uid, 65534u);  // outside the range: nobody
  EXPECT_EQ(lstatOf(b / "far").st_gid, 600000u);
  EXPECT_EQ(lstatOf(b / "link").st_uid, 600007u);
  EXPECT_EQ(lstatOf(b / "fifo").st_uid, 600000u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(b / "null")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(b / "null2")));
  if (caps) {
    EXPECT_LT(::getxattr((b / "sub/file").c_str(), "security.capability", nullptr, 0), 0);
  }
  if (xattrs) {
    EXPECT_EQ(::getxattr((b / "sub/file").c_str(), "user.ferry", nullptr, 0), 1);
  }
}

TEST(CopyTree, RefusesAnExistingDestination) {
  TempDir dir(fs::temp_directory_path(), "ferry-copy-test-");
  fs::create_directories(dir.path() / "a");
  fs::create_directories(dir.path() / "b");
  EXPECT_THROW(copyTree(dir.path() / "a", dir.path() / "b"), std::system_error);
}

}  // namespace
}  // namespace ferry
