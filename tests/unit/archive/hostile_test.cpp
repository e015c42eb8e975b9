// The hostile-archive corpus (tests/tools/hostile_corpus.cpp): every case fails with the right
// class of error naming the entry, creates nothing outside the target, and leaves no target.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "common/error.hpp"
#include "formats/archive/aci.hpp"
#include "formats/archive/extract.hpp"
#include "tests/tools/hostile_corpus.hpp"

namespace ferry::archive {
namespace {

namespace fs = std::filesystem;

std::set<std::string> snapshot(const fs::path& base, const fs::path& skip) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(base); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    out.insert(it->path().string());
  }
  return out;
}

class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpusDir_ = new TempDir(fs::temp_directory_path(), "ferry-hostile-corpus-");
    ferry::testing::writeHostileCorpus(corpusDir_->path());
  }
  static void TearDownTestSuite() {
    delete corpusDir_;
    corpusDir_ = nullptr;
  }
  void SetUp() override {
    fs::create_directories(base_.path() / "outside");
    writeFileAtomic(base_.path() / "outside" / "sentinel", "keep me");
    fs::create_directories(base_.path() / "a");
    before_ = snapshot(base_.path(), target());
  }
  static fs::path corpus() { return corpusDir_->path(); }
  fs::path target() { return base_.path() / "a" / "target"; }

  enum class Kind { kAci, kTar, kTarRootfs };

  // Extracts a corpus file; returns the error (nullopt on success).
  std::optional<Error> run(const std::string& file, Kind kind, ExtractOptions o = {},
                           AciReadOptions ro = {}) {
    try {
      if (kind == Kind::kAci) {
        extractAci(corpus() / file, target(), o, ro);
      } else {
        if (kind == Kind::kTarRootfs) o.stripPrefix = "rootfs";
        Reader r(corpus() / file, ro.reader);
        extract(r, target(), o);
      }
    } catch (const Error& e) {
      return e;
    }
    return std::nullopt;
  }

  void expectFailure(const std::string& file, Kind kind, Errc code, const std::string& entry,
                     ExtractOptions o = {}, AciReadOptions ro = {}) {
    SCOPED_TRACE(file);
    std::optional<Error> e = run(file, kind, o, ro);
    ASSERT_TRUE(e.has_value()) << "no error";
    EXPECT_EQ(errcName(e->code()), errcName(code)) << e->what();
    std::string msg = e->what();
    if (std::getenv("FERRY_TEST_VERBOSE")) std::fprintf(stderr, "%s\n", msg.c_str());
    if (!entry.empty()) {
      // Named relative to rootfs (by the extractor) or in full (by the ACI reader, which refuses
      // writes through an earlier non-directory before anything is extracted).
      bool named = msg.find("entry " + quote(entry)) != std::string::npos ||
                   msg.find("entry " + quote("rootfs/" + entry)) != std::string::npos;
      EXPECT_TRUE(named) << msg;
    }
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    expectClean();
  }

  void expectClean() {
    EXPECT_FALSE(fs::exists(target())) << "target left behind";
    EXPECT_EQ(snapshot(base_.path(), target()), before_) << "something changed outside";
    EXPECT_FALSE(fs::exists("/tmp/ferry-hostile-pwned"));
    EXPECT_FALSE(fs::exists("/tmp/ferry-hostile-absolute"));
    EXPECT_EQ(readFile(base_.path() / "outside" / "sentinel"), "keep me");
  }

  static inline TempDir* corpusDir_ = nullptr;
  TempDir base_{fs::temp_directory_path(), "ferry-hostile-"};
  std::set<std::string> before_;
};

TEST_F(Hostile, NamesThatEscape) {
  expectFailure("dotdot.tar", Kind::kTar, Errc::kSecurity, "../escape");
  expectFailure("dotdot_gnu_longname.tar", Kind::kTar, Errc::kSecurity,
                std::string(60, 'a') + "/../../" + std::string(60, 'b') + "/../../../escape");
  expectFailure("absolute.tar", Kind::kTar, Errc::kSecurity, "/tmp/ferry-hostile-absolute");
  expectFailure("rootfs_dotdot.aci", Kind::kAci, Errc::kSecurity, "rootfs/../x");
}

TEST_F(Hostile, SymlinkEscapes) {
  expectFailure("symlink_escape.aci", Kind::kAci, Errc::kSecurity, "evil/pwned");
  expectFailure("symlink_absolute_escape.aci", Kind::kAci, Errc::kSecurity,
                "evil/ferry-hostile-pwned");
  expectFailure("symlink_dotdot_chain.aci", Kind::kAci, Errc::kSecurity, "l3/pwned");
  // Without duplicate rejection the directory is replaced by the symlink; the write still fails.
  expectFailure("symlink_dir_swap.tar", Kind::kTarRootfs, Errc::kSecurity, "rootfs/d/pwned");
}

TEST_F(Hostile, HardlinkEscapes) {
  expectFailure("hardlink_absolute.aci", Kind::kAci, Errc::kSecurity, "rootfs/h");
  expectFailure("hardlink_dotdot.aci", Kind::kAci, Errc::kSecurity, "rootfs/h");
  expectFailure("hardlink_rootfs_dotdot.aci", Kind::kAci, Errc::kSecurity, "rootfs/h");
  expectFailure("hardlink_through_symlink.aci", Kind::kAci, Errc::kSecurity, "h");
  expectFailure("hardlink_outside_rootfs.aci", Kind::kAci, Errc::kSecurity, "rootfs/h");
}

TEST_F(Hostile, DevicesAndFifos) {
  expectFailure("chardev.aci", Kind::kAci, Errc::kSecurity, "null");
  expectFailure("blockdev.aci", Kind::kAci, Errc::kSecurity, "sda");
  ExtractOptions noFifo;
  noFifo.allowFifos = false;
  expectFailure("fifo.aci", Kind::kAci, Errc::kSecurity, "fifo", noFifo);

  // Allowed by default: a fifo cannot reach outside the tree.
  ASSERT_FALSE(run("fifo.aci", Kind::kAci).has_value());
  struct stat st;
  ASSERT_EQ(::lstat((target() / "fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  fs::remove_all(target());

  if (::geteuid() == 0) {
    ExtractOptions dev;
    dev.allowDevices = true;
    ASSERT_FALSE(run("chardev.aci", Kind::kAci, dev).has_value());
    ASSERT_EQ(::lstat((target() / "null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(major(st.st_rdev), 1u);
    EXPECT_EQ(minor(st.st_rdev), 3u);
    fs::remove_all(target());
  }
}

TEST_F(Hostile, StructureOfAnAci) {
  expectFailure("duplicate.aci", Kind::kAci, Errc::kSecurity, "rootfs/a");
  expectFailure("outside_rootfs.aci", Kind::kAci, Errc::kSecurity, "etc/passwd");
  expectFailure("big_manifest.aci", Kind::kAci, Errc::kLimit, "manifest");
  expectFailure("missing_manifest.aci", Kind::kAci, Errc::kInvalid, "");
  expectFailure("manifest_symlink.aci", Kind::kAci, Errc::kInvalid, "manifest");
  expectFailure("rootfs_not_dir.aci", Kind::kAci, Errc::kInvalid, "rootfs");
}

TEST_F(Hostile, SizesAndTruncation) {
  expectFailure("huge_size.aci", Kind::kAci, Errc::kLimit, "rootfs/huge");
  expectFailure("truncated.aci", Kind::kAci, Errc::kInvalid, "");
  expectFailure("truncated.aci.gz", Kind::kAci, Errc::kInvalid, "");
  AciReadOptions small;
  small.reader.maxTotalSize = 16 << 20;
  expectFailure("bomb.aci.gz", Kind::kAci, Errc::kLimit, "rootfs/zeros", {}, small);
  ExtractOptions smallX;
  smallX.maxTotalBytes = 16 << 20;
  expectFailure("bomb.aci.gz", Kind::kAci, Errc::kLimit, "zeros", smallX);
  // Within bounds the same archive is fine.
  ASSERT_FALSE(run("bomb.aci.gz", Kind::kAci).has_value());
  EXPECT_EQ(fs::file_size(target() / "zeros"), uint64_t{64} << 20);
}

TEST_F(Hostile, OddNames) {
  // libarchive cuts a pax path at its NUL byte: what is left ("rootfs/a") is harmless.
  std::optional<Error> e = run("nul_name.aci", Kind::kAci);
  if (e) {
    EXPECT_EQ(e->code(), Errc::kSecurity) << e->what();
    expectClean();
  } else {
    EXPECT_TRUE(fs::exists(target() / "a"));
    EXPECT_EQ(snapshot(base_.path(), target()), before_);
    fs::remove_all(target());
  }
  ASSERT_FALSE(run("non_utf8_name.aci", Kind::kAci).has_value());
  EXPECT_EQ(readFile(target() / "caf\xe9-\xff\xfe"), "latin1");
}

}  // namespace
}  // namespace ferry::archive
