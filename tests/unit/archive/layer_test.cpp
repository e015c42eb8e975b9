#include "formats/archive/layer.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/error.hpp"
#include "formats/archive/trash.hpp"
#include "tests/unit/archive/test_util.hpp"

namespace ferry::archive {
namespace {

namespace fs = std::filesystem;

struct Collect : LayerSink {
  std::map<std::string, std::string> out;  // path → type:data
  void entry(const Entry& e, Reader& data) override {
    std::string d(e.size, '\0');
    data.read(d.data(), d.size());
    EXPECT_TRUE(out.emplace(e.path, std::string(typeName(e.type)) + ":" + d).second) << e.path;
  }
};

// The tree on disk as the same map (for comparing applyLayer with flattenLayers).
std::map<std::string, std::string> treeOf(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (it->is_symlink()) {
      out[rel] = "symlink:";
    } else if (it->is_directory()) {
      out[rel] = "directory:";
    } else {
      out[rel] = "regular file:" + readFile(it->path());
    }
  }
  return out;
}

class LayerTest : public ::testing::Test {
 protected:
  TempDir dir_{fs::temp_directory_path(), "ferry-layer-test-"};
  fs::path p(const std::string& name) { return dir_.path() / name; }
  fs::path layer(const std::string& name, const test::Content& c) {
    test::writeArchive(p(name), c, {.compression = Compression::kGzip});
    return p(name);
  }
  static std::pair<Entry, std::string> file(const std::string& path, const std::string& data) {
    return {fileEntry(path, data.size()), data};
  }
  static std::pair<Entry, std::string> dir(const std::string& path) { return {dirEntry(path), ""}; }
  static std::pair<Entry, std::string> wh(const std::string& path) {
    return {whiteoutEntry(path), ""};
  }
  static std::pair<Entry, std::string> opq(const std::string& path) {
    return {opaqueEntry(path), ""};
  }
};

TEST(Whiteouts, Names) {
  EXPECT_TRUE(isWhiteout("a/.wh.b"));
  EXPECT_FALSE(isWhiteout("a/b.wh.c"));
  EXPECT_TRUE(isOpaque("a/.wh..wh..opq"));
  EXPECT_FALSE(isOpaque("a/.wh.b"));
  EXPECT_EQ(whiteoutTarget("a/.wh.b"), "a/b");
  EXPECT_EQ(whiteoutTarget(".wh.top"), "top");
  EXPECT_EQ(whiteoutTarget("a/b/.wh..wh..opq"), "a/b");
  EXPECT_EQ(whiteoutTarget(".wh..wh..opq"), "");
  EXPECT_EQ(whiteoutEntry("x/y").path, "x/.wh.y");
  EXPECT_EQ(opaqueEntry("x").path, "x/.wh..wh..opq");
}

TEST_F(LayerTest, FlattenMatchesApplyingLayerByLayer) {
  std::vector<fs::path> layers{
      layer("0", {dir("etc"), file("etc/passwd", "root"), file("etc/old", "old"), dir("opt"),
                  dir("opt/app"), file("opt/app/lib", "v1"), file("opt/app/keep-not", "x"),
                  dir("var"), dir("var/cache"), file("var/cache/c", "c"), file("bin", "was a file"),
                  dir("gone"), file("gone/child", "g"), file("shadowed", "lower")}),
      layer("1", {dir("etc"), wh("etc/old"), file("etc/new", "new"),
                  // opaque after a same-layer child: the child stays, lower children go
                  dir("opt/app"), file("opt/app/lib", "v2"), opq("opt/app"),
                  // a file replaces a directory: everything below is gone
                  file("var/cache", "now a file"),
                  // a directory replaces a file
                  dir("bin"), file("bin/sh", "sh"), wh("gone"), file("shadowed", "upper")}),
      layer("2",
            {file("etc/passwd", "root2"), wh("opt/app/lib"), dir("gone"), file("gone/fresh", "f")}),
  };
  Collect flat;
  std::vector<ReadResult> results = flattenLayers(layers, flat);
  ASSERT_EQ(results.size(), 3u);
  std::map<std::string, std::string> expected{{"etc", "directory:"},
                                              {"etc/passwd", "regular file:root2"},
                                              {"etc/new", "regular file:new"},
                                              {"opt", "directory:"},
                                              {"opt/app", "directory:"},
                                              {"var", "directory:"},
                                              {"var/cache", "regular file:now a file"},
                                              {"bin", "directory:"},
                                              {"bin/sh", "regular file:sh"},
                                              {"gone", "directory:"},
                                              {"gone/fresh", "regular file:f"},
                                              {"shadowed", "regular file:upper"}};
  EXPECT_EQ(flat.out, expected);

  // applyLayer onto a tree gives the same result.
  fs::create_directories(p("root"));
  for (const auto& l : layers) {
    Reader r(l);
    applyLayer(r, p("root"));
  }
  EXPECT_EQ(treeOf(p("root")), expected);

  // With a trash (what the tree store renders with): the same tree; what was removed is
  // deleted, and finish() leaves no trash directory.
  fs::create_directories(p("root2"));
  {
    Trash trash(p("trash"));
    ExtractOptions o;
    o.trash = &trash;
    for (const auto& l : layers) {
      Reader r(l);
      applyLayer(r, p("root2"), o);
    }
    EXPECT_EQ(treeOf(p("root2")), expected);
    trash.finish();
  }
  EXPECT_FALSE(fs::exists(p("trash")));
}

// The trash deletes what it took without following a symlink: a whited-out directory holding a
// link to a file outside the tree (and a link to a directory outside) takes nothing else along.
TEST_F(LayerTest, TrashNeverFollowsSymlinks) {
  fs::create_directories(p("outside/dir"));
  writeFileAtomic(p("outside/file"), "keep");
  writeFileAtomic(p("outside/dir/inner"), "keep too");
  Entry toFile = symlinkEntry("d/to-file", p("outside/file").string());
  Entry toDir = symlinkEntry("d/to-dir", p("outside/dir").string());
  std::vector<fs::path> layers{
      layer("0", {dir("d"),
                  {toFile, ""},
                  {toDir, ""},
                  file("d/data", "x"),
                  dir("d/sub"),
                  file("d/sub/f", "y"),
                  file("top", "z")}),
      layer("1", {wh("d"), wh("top")}),
  };
  fs::create_directories(p("root"));
  {
    Trash trash(p("trash"));
    ExtractOptions o;
    o.trash = &trash;
    for (const auto& l : layers) {
      Reader r(l);
      applyLayer(r, p("root"), o);
    }
    trash.finish();
  }
  EXPECT_TRUE(treeOf(p("root")).empty());
  EXPECT_FALSE(fs::exists(p("trash")));
  EXPECT_EQ(readFile(p("outside/file")), "keep");
  EXPECT_EQ(readFile(p("outside/dir/inner")), "keep too");
}

TEST_F(LayerTest, UnsupportedCasesAreReported) {
  auto codeOf = [&](const std::vector<fs::path>& layers) {
    Collect c;
    try {
      flattenLayers(layers, c);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::kNotFound;
  };
  // Hardlink whose target a higher layer replaced.
  test::Content low{file("t", "lower"), {hardlinkEntry("h", "t"), ""}};
  EXPECT_EQ(codeOf({layer("low", low), layer("hi", {file("t", "upper")})}), Errc::kUnsupported);
  // Same-layer hardlinks are fine.
  EXPECT_EQ(codeOf({layer("low2", low)}), Errc::kNotFound);
  // A path twice in one layer.
  EXPECT_EQ(codeOf({layer("dup", {file("a", "1"), file("a", "2")})}), Errc::kUnsupported);
}

TEST_F(LayerTest, CheckLayerRefusesWhatExtractionWould) {
  auto verdict = [&](const std::string& name, const test::Content& c) -> std::string {
    Reader r(layer(name, c));
    try {
      checkLayer(r);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kSecurity) << e.what();
      return e.what();
    }
    return "ok";
  };
  Entry dev = fileEntry("dev/null", 0);
  dev.type = Type::kChar;
  dev.devMajor = 1;
  dev.devMinor = 3;
  EXPECT_NE(verdict("dev", {dir("dev"), {dev, ""}}).find("entry \"dev/null\": character device"),
            std::string::npos);
  EXPECT_NE(verdict("through", {{symlinkEntry("esc", "/tmp"), ""}, file("esc/x", "x")})
                .find("entry \"esc/x\": path goes through symlink \"esc\""),
            std::string::npos);
  EXPECT_NE(verdict("deep", {{symlinkEntry("a/b", ".."), ""}, file("a/b/c/d", "x")})
                .find("through symlink \"a/b\""),
            std::string::npos);
  EXPECT_NE(verdict("hardlink",
                    {{symlinkEntry("esc", "/etc"), ""}, {hardlinkEntry("h", "esc/passwd"), ""}})
                .find("hard link target \"esc/passwd\""),
            std::string::npos);
  // Symlinks themselves, a symlink replaced by a directory, fifos, whiteouts: fine.
  Entry fifo = fileEntry("run/fifo", 0);
  fifo.type = Type::kFifo;
  EXPECT_EQ(verdict("fine", {{symlinkEntry("l", "/etc"), ""},
                             {symlinkEntry("d", "x"), ""},
                             dir("d"),
                             file("d/f", "data"),
                             {fifo, ""},
                             {hardlinkEntry("h", "l"), ""},
                             wh("gone")}),
            "ok");
  Reader r(layer("digest", {file("a", "abc")}), {.uncompressedDigest = DigestAlgorithm::kSha256});
  EXPECT_TRUE(checkLayer(r).uncompressedDigest.has_value());
}

TEST_F(LayerTest, ChildInAHigherLayerMakesItsParentADirectory) {
  // The upper layer puts a/b without an entry for a; the lower file a cannot stay (an extractor
  // would find a file where it needs a directory), but a lower directory keeps its metadata.
  Collect c;
  flattenLayers({layer("low", {file("a", "file"), dir("d")}),
                 layer("hi", {file("a/b", "upper"), file("d/x", "x")})},
                c);
  std::map<std::string, std::string> want = {
      {"a/b", "regular file:upper"}, {"d", "directory:"}, {"d/x", "regular file:x"}};
  EXPECT_EQ(c.out, want);
}

}  // namespace
}  // namespace ferry::archive
