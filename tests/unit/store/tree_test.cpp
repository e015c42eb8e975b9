// The tree store: rendering OCI layers and ACIs with dependencies; verifying trees.
#include <gtest/gtest.h>

#include "stage0/store/store.hpp"
#include "tests/unit/store/test_util.hpp"

namespace ferry::store {
namespace {

using namespace test;

struct TreeTest : ::testing::Test {
  TempDir tmp{fs::temp_directory_path(), "ferry-tree-test-"};
  fs::path dir = tmp.path() / "data";
  fs::path scratch = tmp.path();
};

TEST_F(TreeTest, RendersOciLayersInOrder) {
  Store s = Store::open(dir);
  Content base = {directory("etc"), file("etc/a", "one"), file("etc/b", "bee"),
                  directory("var/lib"), file("var/lib/x", "x")};
  Content top = {{archive::whiteoutEntry("etc/b"), ""},
                 file("etc/a", "two"),
                 {archive::opaqueEntry("var/lib"), ""},
                 file("var/lib/y", "y"),
                 {archive::symlinkEntry("link", "etc/a"), ""}};
  ImageRecord img = addOci(s, scratch, "example.com/layers", {base, top});
  EXPECT_FALSE(s.treePath(img.id));

  TreeInfo t = s.renderTree(img.id);
  EXPECT_EQ(t.rootfs, dir / "cas/trees" / t.key / "rootfs");
  EXPECT_EQ(s.treePath(img.id), t.rootfs);
  EXPECT_EQ(readFile(t.rootfs / "etc/a"), "two");
  EXPECT_FALSE(fs::exists(t.rootfs / "etc/b"));
  EXPECT_FALSE(fs::exists(t.rootfs / "var/lib/x"));
  EXPECT_EQ(readFile(t.rootfs / "var/lib/y"), "y");
  EXPECT_EQ(fs::read_symlink(t.rootfs / "link"), "etc/a");
  EXPECT_EQ(t.size, 4);
  EXPECT_EQ(t.contentHash, hashTree(t.rootfs));
  EXPECT_TRUE(fs::is_empty(dir / "cas/tmp"));

  // Rendered once: a second call returns the same tree.
  TreeInfo again = s.renderTree(img.id);
  EXPECT_EQ(again.key, t.key);
  EXPECT_EQ(again.contentHash, t.contentHash);

  // An image with the same layers shares the tree.
  ImageRecord twin = addOci(s, scratch, "example.com/twin", {base, top}, "latest", "twin");
  EXPECT_NE(twin.id, img.id);
  EXPECT_EQ(s.renderTree(twin.id).key, t.key);
  EXPECT_TRUE(s.verify().empty());
}

TEST_F(TreeTest, VerifyDetectsChangedTrees) {
  Store s = Store::open(dir);
  ImageRecord img = addOci(s, scratch, "example.com/a", {{file("a", "x"), file("b", "y")}});
  TreeInfo t = s.renderTree(img.id);
  ASSERT_TRUE(s.verify().empty());
  writeFileAtomic(t.rootfs / "a", "z");
  std::vector<std::string> problems = s.verify();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("tree " + t.key), std::string::npos) << problems[0];
  writeFileAtomic(t.rootfs / "a", "x");
  EXPECT_TRUE(s.verify().empty());
  fs::permissions(t.rootfs / "b", fs::perms::owner_exec, fs::perm_options::add);
  EXPECT_EQ(s.verify().size(), 1u);
}

TEST_F(TreeTest, RendersAnAciWithItsDependency) {
  Store s = Store::open(dir);
  ImageRecord base =
      addAci(s, scratch, "example.com/base", "1.0",
             {directory("etc"), file("etc/os-release", "base"), file("etc/motd", "hi")});
  // A newer base with another version must not be picked: the dependency asks for 1.0.
  addAci(s, scratch, "example.com/base", "2.0", {file("etc/os-release", "base 2")}, {},
         base.importedAt + 10);
  ImageRecord app = addAci(s, scratch, "example.com/app", "1.0",
                           {directory("bin"), file("bin/app", "app"), file("etc/motd", "app motd")},
                           {{"example.com/base", "1.0"}});
  TreeInfo t = s.renderTree(app.id);
  EXPECT_EQ(readFile(t.rootfs / "bin/app"), "app");
  EXPECT_EQ(readFile(t.rootfs / "etc/motd"), "app motd");  // the image's own files win
  EXPECT_EQ(readFile(t.rootfs / "etc/os-release"), "base");
  EXPECT_NE(t.key, app.id.substr(7));  // keyed by the whole render order
  EXPECT_TRUE(s.verify().empty());

  // Without dependencies the key is the image ID's hex.
  EXPECT_EQ(s.renderTree(base.id).key, base.id.substr(7));
}

TEST_F(TreeTest, MissingDependencyIsAnError) {
  Store s = Store::open(dir);
  ImageRecord app =
      addAci(s, scratch, "example.com/app", "1.0", {file("a", "a")}, {{"example.com/base", "1.0"}});
  std::string msg = errorOf([&] { s.renderTree(app.id); });
  EXPECT_NE(msg.find("not found in the image store"), std::string::npos) << msg;
  EXPECT_FALSE(s.treePath(app.id));
}

TEST_F(TreeTest, CorruptLayerFailsAndLeavesNoTree) {
  Store s = Store::open(dir);
  ImageRecord img = addOci(s, scratch, "example.com/a", {{file("a", "x")}});
  fs::path layer = s.blobPath(img.blobs[2].digest);
  std::string bytes = layerBytes(scratch, {file("a", "evil")});
  writeFileAtomic(layer, bytes);
  EXPECT_EQ(codeOf([&] { s.renderTree(img.id); }), Errc::kDigestMismatch);
  EXPECT_FALSE(s.treePath(img.id));
  EXPECT_TRUE(fs::is_empty(dir / "cas/trees"));
  EXPECT_TRUE(fs::is_empty(dir / "cas/tmp"));
}

}  // namespace
}  // namespace ferry::store
