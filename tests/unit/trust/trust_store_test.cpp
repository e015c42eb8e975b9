// The trust store against keys and signatures made by GnuPG itself (a peer), never by ferry.
#include "stage0/trust/trust_store.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::trust {
namespace {

namespace fs = std::filesystem;

void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// A GnuPG home holding one signing key, made with `gpg --batch`.
struct GpgKey {
  fs::path home;
  std::string armored;
  void make(const fs::path& dir, const std::string& name) {
    home = dir / ("gpg-" + name);
    fs::create_directories(home);
    fs::permissions(home, fs::perms::owner_all, fs::perm_options::replace);
    sh("gpg --batch --quiet --homedir " + home.string() + " --passphrase '' --quick-gen-key '" +
       name + " <" + name + "@ferry.invalid>' ed25519 sign 1y 2>/dev/null");
    sh("gpg --batch --quiet --homedir " + home.string() + " --armor --export > " +
       (home / "pub.asc").string());
    armored = readFile(home / "pub.asc");
  }
  void sign(const fs::path& file) {
    sh("gpg --batch --quiet --homedir " + home.string() + " --armor --detach-sign -o " +
       file.string() + ".asc " + file.string());
  }
  ~GpgKey() {
    if (!home.empty()) {
      std::system(("gpgconf --homedir " + home.string() + " --kill all 2>/dev/null").c_str());
    }
  }
};

class Trust : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir(fs::temp_directory_path(), "ferry-trust-test-");
    alice_.make(dir_->path(), "alice");
    mallory_.make(dir_->path(), "mallory");
  }
  static void TearDownTestSuite() {
    alice_ = GpgKey{};
    mallory_ = GpgKey{};
    delete dir_;
  }
  void SetUp() override {
    data_ = std::make_unique<TempDir>(dir_->path(), "data-");
    image_ = data_->path() / "app.aci";
    writeFileAtomic(image_, "pretend this is an ACI");
  }
  KeyInfo info(const GpgKey& k) { return inspectKeys(k.armored, "key", data_->path())[0]; }
  std::string errorOf(auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  static inline TempDir* dir_ = nullptr;
  static inline GpgKey alice_, mallory_;
  std::unique_ptr<TempDir> data_;
  fs::path image_;
};

TEST_F(Trust, InspectsAKey) {
  KeyInfo k = info(alice_);
  EXPECT_EQ(k.fingerprint.size(), 40u);
  ASSERT_EQ(k.userIds.size(), 1u);
  EXPECT_EQ(k.userIds[0], "alice <alice@ferry.invalid>");
  EXPECT_FALSE(k.expired);
  EXPECT_THROW(inspectKeys("not a key", "junk", data_->path()), Error);
}

TEST_F(Trust, GoodSignatureByAPrefixKey) {
  TrustStore store(data_->path());
  store.add(Scope{"example.com/app"}, alice_.armored, info(alice_));
  alice_.sign(image_);
  std::string sig = readFile(image_.string() + ".asc");
  EXPECT_EQ(store.verify("example.com/app", image_, sig), info(alice_).fingerprint);
  EXPECT_EQ(store.verify("example.com/app/sub", image_, sig), info(alice_).fingerprint);
  // The prefix covers names below it, not names that merely start with the same letters.
  EXPECT_NE(errorOf([&] { store.verify("example.com/apple", image_, sig); }).find("no trusted key"),
            std::string::npos);
}

TEST_F(Trust, RootKeyCoversEverything) {
  TrustStore store(data_->path());
  store.add(Scope{}, alice_.armored, info(alice_));
  alice_.sign(image_);
  EXPECT_NO_THROW(store.verify("other.org/x", image_, readFile(image_.string() + ".asc")));
}

TEST_F(Trust, AlteredImageIsRefused) {
  TrustStore store(data_->path());
  store.add(Scope{"example.com/app"}, alice_.armored, info(alice_));
  alice_.sign(image_);
  writeFileAtomic(image_, "pretend this is an ACI, altered");
  std::string e =
      errorOf([&] { store.verify("example.com/app", image_, readFile(image_.string() + ".asc")); });
  EXPECT_NE(e.find("bad signature"), std::string::npos) << e;
}

TEST_F(Trust, UntrustedSignerIsRefused) {
  TrustStore store(data_->path());
  store.add(Scope{"example.com/app"}, alice_.armored, info(alice_));
  mallory_.sign(image_);
  std::string e =
      errorOf([&] { store.verify("example.com/app", image_, readFile(image_.string() + ".asc")); });
  EXPECT_NE(e.find("not trusted"), std::string::npos) << e;
  EXPECT_NE(e.find(info(mallory_).fingerprint), std::string::npos) << e;
}

TEST_F(Trust, GarbageSignatureIsRefused) {
  TrustStore store(data_->path());
  store.add(Scope{"example.com/app"}, alice_.armored, info(alice_));
  EXPECT_THROW(store.verify("example.com/app", image_, "-----BEGIN PGP SIGNATURE-----\nxx\n"),
               Error);
}

TEST_F(Trust, ListAndRemove) {
  TrustStore store(data_->path());
  store.add(Scope{"example.com/app"}, alice_.armored, info(alice_));
  store.add(Scope{}, mallory_.armored, info(mallory_));
  auto keys = store.list();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(store.keysFor("example.com/app").size(), 2u);
  EXPECT_EQ(store.keysFor("example.org").size(), 1u);
  EXPECT_TRUE(store.remove(info(mallory_).fingerprint));
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_THROW(store.add(Scope{"Not/Valid"}, alice_.armored, info(alice_)), Error);
}

}  // namespace
}  // namespace ferry::trust
