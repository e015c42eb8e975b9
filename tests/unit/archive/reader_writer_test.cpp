#include <fcntl.h>
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

std::string firstWord(const std::string& s) { return s.substr(0, s.find(' ')); }

TEST_F(ArchiveTest, ReadsEveryCompressionByContent) {
  Content c = sampleContent();
  // A tar made by GNU tar (padded to 10240 bytes) and one made by the Writer.
  test::writeArchive(p("ours.tar"), c);
  std::string tree = p("tree").string();
  test::sh("mkdir -p " + tree + "/d && echo hi > " + tree + "/d/f && ln -s f " + tree +
           "/d/l && tar --format=gnu -C " + tree + " -cf " + p("gnu.tar").string() + " .");
  for (std::string tarName : {"ours.tar", "gnu.tar"}) {
    std::string tarPath = p(tarName).string();
    std::string sha512 = firstWord(test::sh("sha512sum " + tarPath));
    for (std::string tool : {"cat", "gzip -c", "bzip2 -c", "xz -c", "zstd -q -c"}) {
      SCOPED_TRACE(tarName + " | " + tool);
      std::string packed = p("packed.bin").string();  // no telling extension
      test::sh(tool + " " + tarPath + " > " + packed);
      ReaderOptions o;
      o.compressedDigest = DigestAlgorithm::kSha256;
      o.uncompressedDigest = DigestAlgorithm::kSha512;
      ReadResult res;
      Content back = test::readArchive(packed, o, &res);
      Compression expected = tool == "cat"        ? Compression::kNone
                             : tool == "gzip -c"  ? Compression::kGzip
                             : tool == "bzip2 -c" ? Compression::kBzip2
                             : tool == "xz -c"    ? Compression::kXz
                                                  : Compression::kZstd;
      EXPECT_EQ(res.compression, expected);
      EXPECT_EQ(res.uncompressedDigest->hex(), sha512);
      EXPECT_EQ(res.uncompressedSize, std::filesystem::file_size(tarPath));
      EXPECT_EQ(res.compressedDigest->hex(), firstWord(test::sh("sha256sum " + packed)));
      EXPECT_EQ(res.compressedSize, std::filesystem::file_size(packed));
      if (tarName == "ours.tar") {
        ASSERT_EQ(back.size(), c.size());
        for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(back[i], c[i]);
      } else {
        ASSERT_EQ(back.size(), 3u);  // "./" is skipped
        EXPECT_EQ(back[0].first.path, "d");
        EXPECT_EQ(back[1].second, "hi\n");
      }
    }
  }
}

TEST_F(ArchiveTest, DigestsCoverUnreadData) {
  test::writeArchive(p("a.tar"), sampleContent());
  ReaderOptions o;
  o.uncompressedDigest = DigestAlgorithm::kSha512;
  Reader r(p("a.tar"), o);
  Entry e;
  ASSERT_TRUE(r.next(e));  // then stop reading: finish() must drain
  ReadResult res = r.finish();
  EXPECT_EQ(res.uncompressedDigest->hex(), firstWord(sh("sha512sum " + p("a.tar").string())));
  EXPECT_EQ(res.entries, sampleContent().size());
}

TEST_F(ArchiveTest, WriterIsDeterministicAndHashesBothStreams) {
  struct Case {
    Compression c;
    int level;
    int workers;
    bool pipelined;
    std::string unpack;
  };
  for (const Case& k : {Case{Compression::kNone, 0, 0, true, "cat"},
                        Case{Compression::kGzip, 0, 0, true, "gzip -dc"},
                        Case{Compression::kGzip, 1, 0, false, "gzip -dc"},
                        Case{Compression::kGzip, 1, 2, true, "gzip -dc"},
                        Case{Compression::kGzip, 6, 1, false, "gzip -dc"},
                        Case{Compression::kZstd, 0, 0, true, "zstd -dcq"},
                        Case{Compression::kZstd, 3, 2, true, "zstd -dcq"}}) {
    SCOPED_TRACE(std::string(compressionName(k.c)) + " level " + std::to_string(k.level));
    WriterOptions o;
    o.compression = k.c;
    o.level = k.level;
    o.workers = k.workers;
    o.pipelined = k.pipelined;
    // Enough data to cross several 1 MiB blocks.
    Content c = sampleContent();
    std::string big(3 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
    c.emplace_back(fileEntry("big", big.size()), big);
    WriteResult r1 = test::writeArchive(p("1"), c, o);
    WriteResult r2 = test::writeArchive(p("2"), c, o);
    EXPECT_EQ(test::fileBytes(p("1")), test::fileBytes(p("2")));
    EXPECT_EQ(r1.compressedDigest, r2.compressedDigest);
    EXPECT_EQ(r1.compressedDigest->hex(), firstWord(sh("sha256sum " + p("1").string())));
    EXPECT_EQ(r1.compressedSize, std::filesystem::file_size(p("1")));
    sh(k.unpack + " < " + p("1").string() + " > " + p("1.tar").string());
    EXPECT_EQ(r1.uncompressedDigest->hex(), firstWord(sh("sha256sum " + p("1.tar").string())));
    EXPECT_EQ(r1.uncompressedSize, std::filesystem::file_size(p("1.tar")));
    Content back = test::readArchive(p("1"));
    ASSERT_EQ(back.size(), c.size());
    EXPECT_EQ(back.back().second, big);
    // GNU tar agrees with the listing.
    std::string listing = sh("tar -tf " + p("1.tar").string());
    EXPECT_NE(listing.find(c[5].first.path), std::string::npos);
  }
}

TEST_F(ArchiveTest, ParallelOutputDoesNotDependOnWorkerCount) {
  Content c = sampleContent();
  std::string big(5 << 20, 'q');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  c.emplace_back(fileEntry("big", big.size()), big);
  for (Compression comp : {Compression::kGzip, Compression::kZstd}) {
    test::writeArchive(p("w1"), c, {.compression = comp, .workers = 1});
    test::writeArchive(p("w2"), c, {.compression = comp, .workers = 2, .pipelined = false});
    test::writeArchive(p("w3"), c, {.compression = comp, .workers = 3});
    EXPECT_EQ(test::fileBytes(p("w1")), test::fileBytes(p("w2")));
    EXPECT_EQ(test::fileBytes(p("w1")), test::fileBytes(p("w3")));
    EXPECT_EQ(test::readArchive(p("w3")).back().second, big);
  }
}

TEST_F(ArchiveTest, MetadataSurvivesEveryField) {
  Content c;
  Entry f = fileEntry("sbin/ping", 4, 06755);
  f.uid = 4000000;  // beyond ustar's octal field: goes to pax
  f.gid = 12;
  f.uname = std::string(40, 'u');  // beyond 31 chars
  f.gname = "wheel";
  f.mtimeSec = 1234567890;
  f.mtimeNsec = 1;
  f.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00\0\0", 10);
  f.xattrs["user.binary"] = std::string("v\nwith newline\0and NUL", 23);
  c.emplace_back(f, "ping");
  Entry d = dirEntry("tmp", 01777);
  d.mtimeSec = -86400;  // before 1970 (whole seconds: see tar_header.cpp on fractions)
  c.emplace_back(d, "");
  Entry chr = fileEntry("dev/null", 0, 0666);
  chr.type = Type::kChar;
  chr.devMajor = 1;
  chr.devMinor = 3;
  c.emplace_back(chr, "");
  Entry blk = chr;
  blk.path = "dev/big";
  blk.type = Type::kBlock;
  blk.devMajor = 259;
  blk.devMinor = 3000000;  // beyond ustar
  c.emplace_back(blk, "");
  Entry fifo = fileEntry("run/fifo", 0, 0600);
  fifo.type = Type::kFifo;
  c.emplace_back(fifo, "");
  c.emplace_back(symlinkEntry("l", std::string(150, 'T') + "/target"), "");
  c.emplace_back(hardlinkEntry("sbin/ping2", "sbin/ping"), "");
  std::string deep;
  for (int i = 0; i < 30; ++i) deep += "component" + std::to_string(i) + "/";
  c.emplace_back(fileEntry(deep + "leaf", 1), "z");
  c.emplace_back(fileEntry("caf\xc3\xa9/\xff-binary", 2), "ok");
  test::writeArchive(p("m.tar"), c);
  Content back = test::readArchive(p("m.tar"));
  ASSERT_EQ(back.size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(back[i], c[i]) << c[i].first.path;
}

TEST_F(ArchiveTest, WriterRefusesBadInput) {
  UniqueFd fd = openFile(p("x.tar"), O_WRONLY | O_CREAT | O_TRUNC);
  {
    Writer w(fd.get());
    EXPECT_THROW(w.add(fileEntry("/abs", 0)), Error);
    EXPECT_THROW(w.add(fileEntry("a/../b", 0)), Error);
    EXPECT_THROW(w.add(fileEntry("./a", 0)), Error);
    EXPECT_THROW(w.add(hardlinkEntry("h", "../x")), Error);
    Entry bad = fileEntry("x", 0);
    bad.xattrs["user.a=b"] = "v";  // a pax key cannot hold '='
    EXPECT_THROW(w.add(bad), Error);
    w.add(fileEntry("a", 3));
    EXPECT_THROW(w.write("abcd", 4), Error);
    w.write("ab", 2);
    EXPECT_THROW(w.add(fileEntry("b", 0)), Error);  // 1 byte missing
  }
  {
    Writer w(fd.get(), {.compression = Compression::kZstd});
    w.add(fileEntry("a", 1));
    EXPECT_THROW(w.finish(), Error);
  }
  EXPECT_THROW(Writer(fd.get(), {.compression = Compression::kXz}), Error);
}

TEST_F(ArchiveTest, CopyFromRecompresses) {
  Content c = sampleContent();
  test::writeArchive(p("a.tar.gz"), c, {.compression = Compression::kGzip});
  Reader r(p("a.tar.gz"), {.uncompressedDigest = DigestAlgorithm::kSha256});
  UniqueFd fd = openFile(p("b.tar.zst"), O_WRONLY | O_CREAT | O_TRUNC);
  Writer w(fd.get(), {.compression = Compression::kZstd});
  w.copyFrom(r);
  WriteResult wr = w.finish();
  ReadResult rr = r.finish();
  // Same entries, same bytes: the tar streams are identical.
  EXPECT_EQ(wr.uncompressedDigest, rr.uncompressedDigest);
  Content back = test::readArchive(p("b.tar.zst"));
  ASSERT_EQ(back.size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(back[i], c[i]);
}

// decompressAhead inflates on a thread of its own, a few 1 MiB blocks ahead: the same entries,
// digests and errors as without it, and a Reader left mid-stream stops that thread.
TEST_F(ArchiveTest, DecompressAheadReadsTheSame) {
  test::Content c = sampleContent();
  uint32_t x = 12345;
  for (int i = 0; i < 6; ++i) {  // ~9 MiB: more than the blocks in flight
    std::string data(1536 * 1024 + i, '\0');
    for (char& ch : data) {
      x = x * 1103515245 + 12345;
      ch = static_cast<char>((x >> 16) % 16 + 'a');  // compressible, not trivially
    }
    c.emplace_back(fileEntry("big" + std::to_string(i), data.size()), data);
  }
  test::writeArchive(p("a.tar"), c);
  for (std::string tool : {"gzip -c", "zstd -q -c", "xz -T1 -0 -c", "cat"}) {
    SCOPED_TRACE(tool);
    std::string packed = p("packed").string();
    sh(tool + " " + p("a.tar").string() + " > " + packed);
    ReaderOptions o;
    o.compressedDigest = DigestAlgorithm::kSha256;
    o.uncompressedDigest = DigestAlgorithm::kSha256;
    ReadResult plain, ahead;
    Content back = test::readArchive(packed, o, &plain);
    o.decompressAhead = true;
    EXPECT_EQ(test::readArchive(packed, o, &ahead), back);
    ASSERT_EQ(back.size(), c.size());
    EXPECT_EQ(back.back(), c.back());
    EXPECT_EQ(ahead.compressedDigest, plain.compressedDigest);
    EXPECT_EQ(ahead.uncompressedDigest, plain.uncompressedDigest);
    EXPECT_EQ(ahead.uncompressedSize, plain.uncompressedSize);
    EXPECT_EQ(ahead.compressedSize, plain.compressedSize);
    EXPECT_EQ(ahead.entries, plain.entries);
    {
      Reader r(packed, o);  // one entry read, then dropped: the thread stops
      Entry e;
      ASSERT_TRUE(r.next(e));
    }
    Reader r(packed, o);  // finish() drains what was not read
    Entry e;
    ASSERT_TRUE(r.next(e));
    EXPECT_EQ(r.finish().uncompressedDigest, plain.uncompressedDigest);
  }
  std::string gz = p("a.tar.gz").string();
  sh("gzip -c " + p("a.tar").string() + " > " + gz);
  std::string bytes = test::fileBytes(gz);
  auto failure = [&](const std::string& content, ReaderOptions o) -> std::string {
    writeFileAtomic(p("bad.gz"), content);
    o.decompressAhead = true;
    try {
      test::readArchive(p("bad.gz"), o);
    } catch (const Error& e) {
      return std::string(errcName(e.code())) + ": " + e.what();
    }
    return "no error";
  };
  std::string corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_NE(failure(bytes.substr(0, bytes.size() / 2), {}).find("truncated gzip input"),
            std::string::npos);
  EXPECT_EQ(failure(corrupt, {}).find("invalid: "), 0u) << failure(corrupt, {});
  EXPECT_NE(failure(bytes + "junk", {}).find("trailing garbage"), std::string::npos);
  uint64_t declared = 0;
  for (const auto& [entry, data] : c) declared += data.size();
  // Above what the headers declare, below the stream with its headers: found by the inflating
  // thread, reported by the tar reader's at the entry it was reading.
  std::string limit = failure(bytes, {.maxTotalSize = declared + 1});
  EXPECT_NE(limit.find("uncompressed stream exceeds"), std::string::npos) << limit;
  EXPECT_NE(limit.find("entry \"big"), std::string::npos) << limit;  // where the reader was
}

TEST_F(ArchiveTest, ReaderLimits) {
  test::writeArchive(p("a.tar"), sampleContent());
  auto code = [&](ReaderOptions o) {
    try {
      test::readArchive(p("a.tar"), o);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::kNotFound;  // "no error"
  };
  EXPECT_EQ(code({.maxEntrySize = 4}), Errc::kLimit);
  EXPECT_EQ(code({.maxTotalSize = 3000}), Errc::kLimit);
  EXPECT_EQ(code({.maxEntries = 2}), Errc::kLimit);
  EXPECT_EQ(code({}), Errc::kNotFound);
  writeFileAtomic(p("a.tar"), std::string(4096, 'x'));
  EXPECT_EQ(code({}), Errc::kInvalid);
}

}  // namespace
}  // namespace ferry::archive
