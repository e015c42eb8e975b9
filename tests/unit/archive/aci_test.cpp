#include "formats/archive/aci.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/unit/archive/test_util.hpp"

namespace ferry::archive {
namespace {

namespace fs = std::filesystem;

struct Collect : AciVisitor {
  std::string manifestBytes;
  std::vector<std::pair<Entry, std::string>> entries;
  void manifest(const std::string& b) override { manifestBytes = b; }
  void entry(const Entry& e, Reader& data) override {
    std::string d(e.size, '\0');
    data.read(d.data(), d.size());
    entries.emplace_back(e, d);
  }
};

class AciTest : public ::testing::Test {
 protected:
  TempDir dir_{fs::temp_directory_path(), "ferry-aci-test-"};
  fs::path p(const std::string& name) { return dir_.path() / name; }
};

TEST_F(AciTest, WriteThenReadGivesTheIdOfTheUncompressedTar) {
  const std::string manifest = R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x"})";
  std::string id;
  {
    UniqueFd fd = openFile(p("x.aci"), O_WRONLY | O_CREAT | O_TRUNC);
    AciWriter w(fd.get(), manifest, {.compression = Compression::kGzip});
    w.add(dirEntry("bin"));
    w.add(fileEntry("bin/sh", 5, 0755));
    w.write("#!sh\n", 5);
    w.add(hardlinkEntry("bin/bash", "bin/sh"));
    AciWriteResult r = w.finish();
    id = r.imageId;
  }
  test::sh("gzip -dc < " + p("x.aci").string() + " > " + p("x.tar").string());
  std::string sum = test::sh("sha512sum " + p("x.tar").string());
  EXPECT_EQ(id, "sha512-" + sum.substr(0, 128));
  // actool-style tools see manifest and rootfs only.
  EXPECT_EQ(test::sh("tar -tf " + p("x.tar").string()),
            "manifest\nrootfs/\nrootfs/bin/\nrootfs/bin/sh\nrootfs/bin/bash\n");

  Collect v;
  AciInfo info = readAci(p("x.aci"), v);
  EXPECT_EQ(info.imageId, id);
  EXPECT_EQ(info.read.compression, Compression::kGzip);
  EXPECT_EQ(v.manifestBytes, manifest);
  ASSERT_EQ(v.entries.size(), 3u);
  EXPECT_EQ(v.entries[1].first.path, "bin/sh");
  EXPECT_EQ(v.entries[1].second, "#!sh\n");
  EXPECT_EQ(v.entries[2].first.linkTarget, "bin/sh");  // relative to rootfs too
}

TEST_F(AciTest, ManifestMayComeLastAndRootfsEntryMayBeMissing) {
  test::writeArchive(p("late.aci"),
                     {{fileEntry("rootfs/a", 1), "a"}, {fileEntry("manifest", 2), "{}"}},
                     {.compression = Compression::kZstd});
  Collect v;
  AciInfo info = readAci(p("late.aci"), v);
  EXPECT_EQ(info.manifest, "{}");
  EXPECT_EQ(v.manifestBytes, "{}");
  ASSERT_EQ(v.entries.size(), 1u);
  EXPECT_EQ(v.entries[0].first.path, "a");
  test::sh("zstd -dcq < " + p("late.aci").string() + " > " + p("late.tar").string());
  EXPECT_EQ(info.imageId,
            "sha512-" + test::sh("sha512sum " + p("late.tar").string()).substr(0, 128));
}

TEST_F(AciTest, ExtractAciGivesRootfsAndManifest) {
  test::writeArchive(p("x.aci"), {{fileEntry("manifest", 2), "{}"},
                                  {dirEntry("rootfs"), ""},
                                  {dirEntry("rootfs/etc"), ""},
                                  {fileEntry("rootfs/etc/hosts", 9), "127.0.0.1"}});
  AciInfo info = extractAci(p("x.aci"), p("root"));
  EXPECT_EQ(info.manifest, "{}");
  EXPECT_EQ(readFile(p("root/etc/hosts")), "127.0.0.1");
  EXPECT_FALSE(fs::exists(p("root/manifest")));
  EXPECT_EQ(info.imageId.size(), 7u + 128u);
}

}  // namespace
}  // namespace ferry::archive
