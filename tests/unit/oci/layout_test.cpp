#include <gtest/gtest.h>

#include <filesystem>

#include "formats/oci/annotations.hpp"
#include "formats/oci/layout.hpp"
#include "formats/oci/media_types.hpp"
#include "test_util.hpp"

namespace ferry::oci {
namespace {

using namespace test;
namespace fs = std::filesystem;

class LayoutTest : public ::testing::Test {
 protected:
  TempDir tmp_{fs::temp_directory_path(), "ferry-oci-test-"};
  fs::path dir_ = tmp_.path() / "layout";

  // Writes a one-layer image for `arch` and returns its manifest descriptor.
  Descriptor writeImage(LayoutWriter& w, const std::string& arch, const std::string& layer) {
    BlobWriter lw = w.newBlob();
    for (char c : layer) lw.write(&c, 1);  // streaming, byte by byte
    Descriptor layerDesc = lw.commit().descriptor(std::string(media::kLayerTar));
    ImageConfig config;
    config.architecture = arch;
    config.os = "linux";
    config.rootfs.diffIds = {layerDesc.digest};
    Descriptor configDesc = w.putBlob(config.dump(), std::string(media::kImageConfig));
    ImageManifest m(configDesc);
    m.mediaType = std::string(media::kImageManifest);
    m.layers = {layerDesc};
    Descriptor d = w.putBlob(m.dump(), std::string(media::kImageManifest));
    d.platform = Platform();
    d.platform->os = "linux";
    d.platform->architecture = arch;
    return d;
  }
};

TEST_F(LayoutTest, WriteThenRead) {
  LayoutWriter w(dir_);
  EXPECT_EQ(readFile(dir_ / "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_TRUE(fs::is_directory(dir_ / "blobs"));
  Descriptor m = writeImage(w, "amd64", "layer bytes");
  w.tag(m, "v1");

  LayoutReader r(dir_);
  EXPECT_EQ(r.refs(), std::vector<std::string>{"v1"});
  Descriptor got = r.resolve("v1");
  EXPECT_EQ(got.digest, m.digest);
  EXPECT_EQ(r.resolve().digest, m.digest);  // the only image
  ImageManifest manifest = r.readManifest(got);
  ImageConfig config = r.readConfig(manifest.config);
  EXPECT_EQ(config.architecture, "amd64");
  EXPECT_EQ(r.readBlob(manifest.layers[0]), "layer bytes");
  EXPECT_TRUE(r.hasBlob(manifest.layers[0].digest));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "blobs" / "sha256" / manifest.layers[0].digest.hex()));
  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_TRUE(e.path().filename() == "blobs" || e.path().filename() == "index.json" ||
                e.path().filename() == "oci-layout")
        << e.path();
  }
}

TEST_F(LayoutTest, TagReplacesAndRefsAreListed) {
  LayoutWriter w(dir_);
  Descriptor a = writeImage(w, "amd64", "a");
  Descriptor b = writeImage(w, "amd64", "b");
  w.tag(a, "latest");
  w.tag(b, "old");
  w.tag(b, "latest");        // replaces a
  LayoutWriter again(dir_);  // reopening an existing layout
  ImageIndex idx = again.index();
  ASSERT_EQ(idx.manifests.size(), 2u);
  LayoutReader r(dir_);
  EXPECT_EQ(r.refs(), (std::vector<std::string>{"old", "latest"}));
  EXPECT_EQ(r.resolve("latest").digest, b.digest);
  EXPECT_EQ(errorOf([&] { r.resolve("nope"); }), "cannot find ref \"nope\" in oci-layout " +
                                                     quote(dir_.string()) +
                                                     ": available refs: \"old\", \"latest\"");
  EXPECT_EQ(errorOf([&] { r.resolve(); }),
            "cannot choose an image in oci-layout " + quote(dir_.string()) +
                ": it holds 2 images, name one of the refs: \"old\", \"latest\"");
}

TEST_F(LayoutTest, NestedIndexIsResolvedToThePlatform) {
  LayoutWriter w(dir_);
  Descriptor amd = writeImage(w, "amd64", "x86 layer");
  Descriptor arm = writeImage(w, "arm64", "arm layer");
  ImageIndex nested;
  nested.mediaType = std::string(media::kImageIndex);
  nested.manifests = {arm, amd};
  Descriptor idx = w.putBlob(nested.dump(), std::string(media::kImageIndex));
  w.tag(idx, "multi");
  LayoutReader r(dir_);
  EXPECT_EQ(r.resolve("multi", parsePlatform("linux/amd64")).digest, amd.digest);
  EXPECT_EQ(r.resolve("multi", parsePlatform("linux/arm64")).digest, arm.digest);
  EXPECT_EQ(codeOf([&] { r.resolve("multi", parsePlatform("linux/s390x")); }),
            errcName(Errc::kNotFound));
}

TEST_F(LayoutTest, DigestMismatchIsDetectedOnRead) {
  LayoutWriter w(dir_);
  Descriptor d = w.putBlob("hello world", "application/octet-stream");
  fs::path p = dir_ / blobPath(d.digest);
  fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
  writeFileAtomic(p, "hello WORLD");  // same size, different content
  LayoutReader r(dir_);
  BlobReader br = r.openBlob(d);
  char buf[4];
  EXPECT_EQ(br.read(buf, 4), 4u);  // bytes flow until the end…
  EXPECT_EQ(br.read(buf, 4), 4u);
  EXPECT_EQ(codeOf([&] { br.read(buf, 4); }), errcName(Errc::kDigestMismatch));  // …then fail
  EXPECT_EQ(codeOf([&] { r.readBlob(d); }), errcName(Errc::kDigestMismatch));

  writeFileAtomic(p, "hello world!");  // longer than declared
  EXPECT_NE(errorOf([&] { r.readBlob(d); }).find("larger than the expected 11 bytes"),
            std::string::npos);
  writeFileAtomic(p, "hello");  // shorter
  EXPECT_NE(errorOf([&] { r.readBlob(d); }).find("size 5, expected 11"), std::string::npos);
  fs::remove(p);
  EXPECT_EQ(codeOf([&] { r.readBlob(d); }), errcName(Errc::kNotFound));
}

TEST_F(LayoutTest, WriterVerifiesExpectedDigestAndSize) {
  LayoutWriter w(dir_);
  Digest want = Digest::of(DigestAlgorithm::kSha256, "abc");
  {
    BlobWriter bw = w.newBlob(want, 3);
    bw.write("abd");
    EXPECT_EQ(codeOf([&] { bw.commit(); }), errcName(Errc::kDigestMismatch));
  }
  {
    BlobWriter bw = w.newBlob(want, 3);
    EXPECT_EQ(codeOf([&] { bw.write("abcd"); }), errcName(Errc::kDigestMismatch));
  }
  EXPECT_FALSE(fs::exists(dir_ / blobPath(want)));
  BlobWriter bw = w.newBlob(want, 3);
  bw.write("ab");
  bw.write("c");
  BlobInfo info = bw.commit();
  EXPECT_EQ(info.digest, want);
  EXPECT_EQ(info.size, 3);
  EXPECT_TRUE(fs::exists(dir_ / blobPath(want)));
  // Abandoned writers leave nothing behind.
  {
    BlobWriter abandoned = w.newBlob();
    abandoned.write("x");
  }
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) entries += e.path().filename() != "" ? 1 : 0;
  EXPECT_EQ(entries, 3u);
}

TEST_F(LayoutTest, BlobWriterTrustingTheCallersDigest) {
  LayoutWriter w(dir_);
  Digest want = Digest::of(DigestAlgorithm::kSha256, "abc");
  {
    BlobWriter bw = w.newBlob(want, 3);
    bw.trustCallerDigest();
    bw.write("abc");
    EXPECT_EQ(bw.commit().digest, want);
  }
  EXPECT_EQ(readFile(dir_ / blobPath(want)), "abc");
  {
    // The size is still checked; the writer does not hash (the caller does).
    BlobWriter bw = w.newBlob(want, 3);
    bw.trustCallerDigest();
    EXPECT_EQ(codeOf([&] { bw.write("abcd"); }), errcName(Errc::kDigestMismatch));
  }
  BlobWriter unnamed = w.newBlob();
  EXPECT_EQ(codeOf([&] { unnamed.trustCallerDigest(); }), errcName(Errc::kInvalid));
  BlobWriter started = w.newBlob(want, 3);
  started.write("a");
  EXPECT_EQ(codeOf([&] { started.trustCallerDigest(); }), errcName(Errc::kInvalid));
}

TEST_F(LayoutTest, Sha512Blobs) {
  LayoutWriter w(dir_);
  Digest want = Digest::of(DigestAlgorithm::kSha512, "data");
  BlobWriter bw = w.newBlob(want);
  bw.write("data");
  EXPECT_EQ(bw.commit().digest, want);
  LayoutReader r(dir_);
  EXPECT_EQ(r.readBlob(Descriptor("application/octet-stream", want, 4)), "data");
  EXPECT_TRUE(fs::exists(dir_ / "blobs" / "sha512" / want.hex()));
}

TEST_F(LayoutTest, OpenErrors) {
  EXPECT_EQ(codeOf([&] { LayoutReader r(dir_); }), errcName(Errc::kNotFound));
  fs::path tarball = tmp_.path() / "image.tar";
  writeFileAtomic(tarball, "not really a tar");
  EXPECT_EQ(errorOf([&] { LayoutReader r(tarball); }),
            "cannot open oci-layout " + quote(tarball.string()) +
                ": not supported: oci-layout in an archive file");
  fs::create_directory(dir_);
  writeFileAtomic(dir_ / "stray", "x");
  EXPECT_EQ(codeOf([&] { LayoutWriter w(dir_); }), errcName(Errc::kInvalid));
  EXPECT_EQ(codeOf([&] { LayoutReader r(dir_); }), errcName(Errc::kInvalid));
  fs::remove(dir_ / "stray");
  { LayoutWriter w(dir_); }
  writeFileAtomic(dir_ / "oci-layout", R"({"imageLayoutVersion":"2.0.0","extra":1})");
  EXPECT_EQ(errorOf([&] { LayoutReader r(dir_); }),
            "cannot open oci-layout " + quote(dir_.string()) +
                ": not supported: imageLayoutVersion \"2.0.0\"");
  writeFileAtomic(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0","extra":1})");
  LayoutReader r(dir_);
  EXPECT_EQ(errorOf([&] { r.resolve(); }),
            "cannot find an image in oci-layout " + quote(dir_.string()) + ": it is empty");
}

TEST_F(LayoutTest, ReadsTheSpecExampleIndex) {
  LayoutWriter w(dir_);
  writeFileAtomic(dir_ / "index.json", readData("layout-index.json"));
  LayoutReader r(dir_);
  EXPECT_EQ(r.refs(), (std::vector<std::string>{"stable-release", "v1.0"}));
  EXPECT_EQ(r.resolve("v1.0").digest.hex().substr(0, 4), "e692");
  // stable-release is an index whose blob this layout lacks.
  EXPECT_EQ(codeOf([&] { r.resolve("stable-release"); }), errcName(Errc::kNotFound));
}

}  // namespace
}  // namespace ferry::oci
