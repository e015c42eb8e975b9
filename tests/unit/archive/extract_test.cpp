#include "formats/archive/extract.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "tests/unit/archive/test_util.hpp"

namespace ferry::archive {
namespace {

namespace fs = std::filesystem;

class ExtractTest : public ::testing::Test {
 protected:
  TempDir dir_{fs::temp_directory_path(), "ferry-extract-test-"};
  fs::path p(const std::string& name) { return dir_.path() / name; }
  struct stat lst(const fs::path& f) {
    struct stat st {};
    EXPECT_EQ(::lstat(f.c_str(), &st), 0) << f;
    return st;
  }
};

std::string getXattr(const fs::path& f, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(f.c_str(), name, buf, sizeof buf);
  return n < 0 ? "<none>" : std::string(buf, static_cast<size_t>(n));
}

TEST_F(ExtractTest, RestoresEveryKindOfMetadata) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners, devices, capabilities)";
  test::Content c;
  Entry d = dirEntry("rootfs/etc", 0750);
  d.uid = 7;
  d.gid = 8;
  d.mtimeSec = 1000000000;
  d.mtimeNsec = 999;
  c.emplace_back(d, "");
  Entry f = fileEntry("rootfs/etc/ping", 4, 04755);
  f.uid = 1000;
  f.gid = 100;
  f.mtimeSec = 1600000000;
  f.mtimeNsec = 123456789;
  f.xattrs["security.capability"] = std::string(
      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  f.xattrs["user.note"] = "hello";
  c.emplace_back(f, "data");
  Entry s = symlinkEntry("rootfs/etc/link", "/nowhere/at/all");
  s.uid = 5;
  s.gid = 6;
  s.mtimeSec = 1200000000;
  c.emplace_back(s, "");
  c.emplace_back(hardlinkEntry("rootfs/etc/ping2", "rootfs/etc/ping"), "");
  Entry fifo = fileEntry("rootfs/fifo", 0, 0640);
  fifo.type = Type::kFifo;
  c.emplace_back(fifo, "");
  Entry dev = fileEntry("rootfs/null", 0, 0666);
  dev.type = Type::kChar;
  dev.devMajor = 1;
  dev.devMinor = 3;
  c.emplace_back(dev, "");
  std::string longName = "rootfs/" + std::string(150, 'n');
  c.emplace_back(fileEntry(longName, 1), "L");
  test::writeArchive(p("a.tar"), c);

  Reader r(p("a.tar"));
  ExtractOptions o;
  o.stripPrefix = "rootfs";
  o.allowDevices = true;
  o.ignoreXattrErrors = true;  // user.* needs a filesystem that has it
  ExtractStats stats = extract(r, p("out"), o);
  EXPECT_EQ(stats.entries, c.size());

  struct stat st = lst(p("out/etc"));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);  // set after its children were created
  EXPECT_EQ(st.st_mtim.tv_nsec, 999);
  st = lst(p("out/etc/ping"));
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // setuid survives the chown
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 100u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_ino, lst(p("out/etc/ping2")).st_ino);
  EXPECT_EQ(readFile(p("out/etc/ping")), "data");
  EXPECT_EQ(getXattr(p("out/etc/ping"), "security.capability"), f.xattrs["security.capability"]);
  std::string note = getXattr(p("out/etc/ping"), "user.note");
  EXPECT_TRUE(note == "hello" || note == "<none>") << note;
  st = lst(p("out/etc/link"));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(fs::read_symlink(p("out/etc/link")), "/nowhere/at/all");
  EXPECT_EQ(st.st_uid, 5u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  st = lst(p("out/fifo"));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  st = lst(p("out/null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(readFile(p("out") / std::string(150, 'n')), "L");
  EXPECT_EQ(stats.read.entries, c.size());
}

// Files are created with their final mode and owner when the umask and the directory allow it
// (no chown, no chmod after); a setgid directory, a default ACL, setuid bits or another owner
// still get the chown and chmod.
TEST_F(ExtractTest, OwnerAndModeWhateverTheDirectoryGivesNewFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners)";
  mode_t oldMask = ::umask(022);
  fs::create_directories(p("out/sg"));
  ASSERT_EQ(::chown(p("out/sg").c_str(), 0, 1234), 0);
  ASSERT_EQ(::chmod(p("out/sg").c_str(), 02755), 0);
  fs::create_directories(p("out/acl"));
  // A default ACL user::rwx group::rwx other::--- (posix_acl_xattr: version 2, then tag, perm,
  // id): new files get mode & 0770, whatever the umask.
  std::string acl("\x02\x00\x00\x00", 4);
  for (auto [tag, perm] : {std::pair{0x01, 7}, {0x04, 7}, {0x20, 0}}) {
    acl += std::string{
        static_cast<char>(tag), 0, static_cast<char>(perm), 0, '\xff', '\xff', '\xff', '\xff'};
  }
  ASSERT_EQ(::setxattr(p("out/acl").c_str(), "system.posix_acl_default", acl.data(), acl.size(), 0),
            0)
      << std::strerror(errno);
  auto file = [](std::string path, mode_t mode, uint32_t uid, uint32_t gid) {
    Entry e = fileEntry(std::move(path), 1, mode);
    e.uid = uid;
    e.gid = gid;
    return e;
  };
  Entry link = symlinkEntry("sg/link", "x");
  Entry dir = dirEntry("sg/dir", 0755);
  test::Content c{{file("sg/root", 0644, 0, 0), "r"},
                  {file("sg/group", 0644, 0, 1234), "g"},
                  {link, ""},
                  {dir, ""},
                  {file("acl/f", 0644, 0, 0), "a"},
                  {file("plain", 0775, 0, 0), "p"},
                  {file("readonly", 0444, 0, 0), "o"},
                  {file("setgid", 02755, 0, 0), "s"},
                  {file("user", 06750, 1000, 1000), "u"}};
  test::writeArchive(p("a.tar"), c);
  {
    Reader r(p("a.tar"));
    Extractor x(p("out"), {}, Extractor::Target::kExisting);
    Entry e;
    while (r.next(e)) x.add(e, r);
    x.commit();
  }
  ::umask(oldMask);
  auto owner = [&](const char* f) {
    struct stat st = lst(p(f));
    return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
           std::to_string(st.st_mode & 07777);
  };
  EXPECT_EQ(owner("out/sg/root"), "0:0 " + std::to_string(0644));  // not the directory's group
  EXPECT_EQ(owner("out/sg/group"), "0:1234 " + std::to_string(0644));
  EXPECT_EQ(lst(p("out/sg/link")).st_gid, 0u);
  EXPECT_EQ(lst(p("out/sg/dir")).st_gid, 0u);
  EXPECT_EQ(owner("out/acl/f"), "0:0 " + std::to_string(0644));  // not 0640
  EXPECT_EQ(owner("out/plain"), "0:0 " + std::to_string(0775));  // not less the umask
  EXPECT_EQ(owner("out/readonly"), "0:0 " + std::to_string(0444));
  EXPECT_EQ(readFile(p("out/readonly")), "o");
  EXPECT_EQ(owner("out/setgid"), "0:0 " + std::to_string(02755));
  EXPECT_EQ(owner("out/user"), "1000:1000 " + std::to_string(06750));  // after the chown
}

TEST_F(ExtractTest, LastDuplicateWinsUnlessRejected) {
  test::Content c{{fileEntry("a", 3), "one"},
                  {dirEntry("d"), ""},
                  {fileEntry("d/x", 1), "x"},
                  {fileEntry("a", 3), "two"},
                  {fileEntry("d", 4), "file"}};
  test::writeArchive(p("a.tar"), c);
  {
    Reader r(p("a.tar"));
    extract(r, p("out"));
    EXPECT_EQ(readFile(p("out/a")), "two");
    EXPECT_EQ(readFile(p("out/d")), "file");  // the directory (and d/x) was replaced
  }
  Reader r(p("a.tar"));
  ExtractOptions o;
  o.rejectDuplicates = true;
  try {
    extract(r, p("out2"), o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kSecurity);
    EXPECT_NE(std::string(e.what()).find("entry \"a\": duplicate"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(p("out2")));
}

TEST_F(ExtractTest, TargetMustBeFreshOrEmptyAndIsCleanedOnError) {
  test::writeArchive(p("bad.tar"), {{fileEntry("ok", 1), "1"},
                                    {symlinkEntry("s", "/tmp"), ""},
                                    {fileEntry("s/escape", 1), "x"}});
  fs::create_directories(p("empty"));
  {
    Reader r(p("bad.tar"));
    EXPECT_THROW(extract(r, p("empty")), Error);
  }
  EXPECT_TRUE(fs::exists(p("empty")));  // existing target kept, but emptied
  EXPECT_TRUE(fs::is_empty(p("empty")));
  EXPECT_FALSE(fs::exists("/tmp/escape"));
  writeFileAtomic(p("empty/x"), "");
  Reader r(p("bad.tar"));
  EXPECT_THROW(extract(r, p("empty")), Error);  // not empty: refused
  EXPECT_TRUE(fs::exists(p("empty/x")));
}

TEST_F(ExtractTest, LimitsAreEnforced) {
  test::Content c{{fileEntry("a", 10), std::string(10, 'a')},
                  {fileEntry("b", 10), std::string(10, 'b')}};
  test::writeArchive(p("a.tar"), c);
  auto code = [&](ExtractOptions o) {
    Reader r(p("a.tar"));
    try {
      extract(r, p("out"), o);
    } catch (const Error& e) {
      return e.code();
    }
    fs::remove_all(p("out"));
    return Errc::kNotFound;
  };
  EXPECT_EQ(code({.maxEntrySize = 9}), Errc::kLimit);
  EXPECT_EQ(code({.maxTotalBytes = 15}), Errc::kLimit);
  EXPECT_EQ(code({.maxEntries = 1}), Errc::kLimit);
  EXPECT_EQ(code({}), Errc::kNotFound);
}

}  // namespace
}  // namespace ferry::archive
