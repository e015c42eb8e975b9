// Store: opening and migrating the index, blobs, image records, remotes.
#include "stage0/store/store.hpp"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <unordered_map>

#include <gtest/gtest.h>

#include "tests/unit/store/test_util.hpp"

namespace ferry::store {
namespace {

using namespace test;

struct StoreTest : ::testing::Test {
  TempDir tmp{fs::temp_directory_path(), "ferry-store-test-"};
  fs::path dir = tmp.path() / "data";
  fs::path scratch = tmp.path();
};

void sqlExec(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

TEST_F(StoreTest, OpenCreatesLayoutAndReopens) {
  std::string id;
  {
    Store s = Store::open(dir);
    EXPECT_EQ(s.schemaVersion(), kSchemaVersion);
    for (const char* sub : {"cas/blobs/sha256", "cas/blobs/sha512", "cas/tmp", "cas/trees"}) {
      EXPECT_TRUE(fs::is_directory(dir / sub)) << sub;
    }
    EXPECT_TRUE(fs::exists(dir / "cas/index.db"));
    EXPECT_TRUE(fs::exists(dir / "cas/lock"));
    id = addOci(s, scratch, "example.com/a", {{file("a", "x")}}).id;
  }
  Store s = Store::open(dir);
  ASSERT_TRUE(s.findImage(id));
  EXPECT_EQ(s.listImages().size(), 1u);
}

// The first use of a store under concurrency (issue 13 item 5): processes released at once by
// a pipe all open the same fresh store, round after round. Two at once switching its index to
// WAL made SQLite return "database is locked" without calling the busy handler.
TEST_F(StoreTest, FirstUseIsSafeUnderConcurrency) {
  constexpr int kRounds = 40;
  constexpr int kProcs = 24;
  int failedRounds = 0;
  std::string firstError;
  for (int round = 0; round < kRounds; ++round) {
    fs::path d = tmp.path() / ("fresh-" + std::to_string(round));
    int go[2], report[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kProcs; ++i) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(go[1]);
        char c;
        while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        std::string msg;
        try {
          Store st = Store::open(d);
          (void)st.listImages();
        } catch (const std::exception& e) {
          msg = std::string(e.what()) + "\n";
        }
        if (!msg.empty() && ::write(report[1], msg.data(), msg.size()) < 0) ::_exit(2);
        ::_exit(msg.empty() ? 0 : 1);
      }
      pids.push_back(pid);
    }
    ::close(go[0]);
    ::close(report[1]);
    ::close(go[1]);  // releases every child at once
    bool failed = false;
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = true;
    }
    char buf[4096];
    ssize_t n = ::read(report[0], buf, sizeof buf);
    ::close(report[0]);
    if (failed) {
      ++failedRounds;
      if (firstError.empty() && n > 0) firstError.assign(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_EQ(failedRounds, 0) << "rounds with a failed first use, e.g.: " << firstError;
}

TEST_F(StoreTest, MigratesAnOlderSchema) {
  std::string id;
  {
    Store s = Store::open(dir);
    id = addOci(s, scratch, "example.com/a", {{file("a", "x")}}, "v1").id;
  }
  // Back to version 2 (one name per image, tags apart, no original-file role), then back to
  // version 1 (no tree store): what earlier ferry versions left.
  sqlExec(dir / "cas/index.db",
          "CREATE TABLE image_tags (image_id TEXT NOT NULL REFERENCES images (id) ON DELETE "
          "CASCADE, tag TEXT NOT NULL, PRIMARY KEY (image_id, tag));"
          "INSERT INTO image_tags SELECT image_id, tag FROM image_names WHERE tag != '';"
          "DROP TABLE image_names;"
          "DROP TABLE image_trees; DROP TABLE trees; UPDATE schema_version SET version = 1");
  Store s = Store::open(dir);
  EXPECT_EQ(s.schemaVersion(), kSchemaVersion);
  ASSERT_TRUE(s.findImage(id));
  auto r = s.findByName({"example.com/a", {}, "v1"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(r->names, (std::vector<ImageName>{{"example.com/a", ""}, {"example.com/a", "v1"}}));
  TreeInfo t = s.renderTree(id);
  EXPECT_EQ(readFile(t.rootfs / "a"), "x");
}

TEST_F(StoreTest, AnImageKeepsEveryNameItWasFetchedUnder) {
  Store s = Store::open(dir);
  ImageRecord a = addOci(s, scratch, "registry.one/team/app", {{file("a", "x")}}, "1.0");
  ImageRecord b = addOci(s, scratch, "registry.two/mirror/app", {{file("a", "x")}}, "stable");
  ASSERT_EQ(a.id, b.id);
  EXPECT_EQ(b.name, "registry.one/team/app");
  EXPECT_EQ(b.tags, (std::vector<std::string>{"1.0", "stable"}));
  for (const NameQuery& q : std::vector<NameQuery>{{"registry.one/team/app", {}, "1.0"},
                                                   {"registry.two/mirror/app", {}, "stable"},
                                                   {"registry.two/mirror/app", {}, std::nullopt}}) {
    auto r = s.findByName(q);
    ASSERT_TRUE(r) << q.name;
    EXPECT_EQ(r->id, a.id);
  }
  EXPECT_FALSE(s.findByName({"registry.one/team/app", {}, "stable"}));
  // A tag names one image per repository: another image tagged 1.0 there takes the tag.
  ImageRecord c = addOci(s, scratch, "registry.one/team/app", {{file("a", "y")}}, "1.0");
  ASSERT_NE(c.id, a.id);
  EXPECT_EQ(s.findByName({"registry.one/team/app", {}, "1.0"})->id, c.id);
  EXPECT_EQ(s.findImage(a.id)->tags, std::vector<std::string>{"stable"});
  EXPECT_EQ(s.findByName({"registry.two/mirror/app", {}, "stable"})->id, a.id);
  // Removing the image drops its names.
  ASSERT_TRUE(s.removeImage(c.id));
  EXPECT_FALSE(s.findByName({"registry.one/team/app", {}, "1.0"}));
  EXPECT_EQ(s.findByName({"registry.one/team/app", {}, std::nullopt})->id, a.id);
}

TEST_F(StoreTest, RefusesANewerSchema) {
  { Store::open(dir); }
  sqlExec(dir / "cas/index.db", "UPDATE schema_version SET version = 99");
  std::string msg = errorOf([&] { Store::open(dir); });
  EXPECT_NE(msg.find("schema version 99 is newer"), std::string::npos) << msg;
  EXPECT_EQ(codeOf([&] { Store::open(dir); }), Errc::kUnsupported);
}

TEST_F(StoreTest, BlobsWriteCommitRead) {
  Store s = Store::open(dir);
  oci::BlobInfo b = s.putBlob("hello", "greeting");
  EXPECT_EQ(b.digest, Digest::of(DigestAlgorithm::kSha256, "hello"));
  EXPECT_TRUE(s.hasBlob(b.digest));
  EXPECT_EQ(s.blobSize(b.digest), 5);
  EXPECT_EQ(s.blobPath(b.digest), dir / "cas/blobs/sha256" / b.digest.hex());
  EXPECT_EQ(s.openBlob(b.digest).readAll(100), "hello");

  oci::BlobInfo b512 = s.putBlob("hello", "greeting", DigestAlgorithm::kSha512);
  EXPECT_TRUE(fs::exists(dir / "cas/blobs/sha512" / b512.digest.hex()));
  EXPECT_EQ(s.listBlobs().size(), 2u);

  Digest absent = Digest::of(DigestAlgorithm::kSha256, "absent");
  EXPECT_FALSE(s.hasBlob(absent));
  EXPECT_EQ(codeOf([&] { s.openBlob(absent); }), Errc::kNotFound);

  // Streaming in pieces, with an expected digest.
  BlobWriter w = s.newBlob("pieces", DigestAlgorithm::kSha256,
                           Digest::of(DigestAlgorithm::kSha256, "abcdef"), 6);
  w.write("abc");
  w.write("def");
  EXPECT_EQ(w.commit().digest, Digest::of(DigestAlgorithm::kSha256, "abcdef"));
  EXPECT_TRUE(s.verify().empty());
}

TEST_F(StoreTest, BlobMismatchLeavesNothing) {
  Store s = Store::open(dir);
  Digest want = Digest::of(DigestAlgorithm::kSha256, "expected");
  {
    BlobWriter w = s.newBlob("layer 1 of x", DigestAlgorithm::kSha256, want);
    w.write("something else");
    std::string msg = errorOf([&] { w.commit(); });
    EXPECT_NE(msg.find("layer 1 of x"), std::string::npos) << msg;
  }
  {
    BlobWriter w = s.newBlob("abandoned");
    w.write("never committed");
  }
  EXPECT_FALSE(s.hasBlob(want));
  EXPECT_TRUE(s.listBlobs().empty());
  for (const auto& e : fs::directory_iterator(dir / "cas")) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".blob.tmp-")) << e.path();
  }
}

TEST_F(StoreTest, VerifyDetectsCorruptAndMissingBlobs) {
  Store s = Store::open(dir);
  ImageRecord img = addOci(s, scratch, "example.com/a", {{file("a", "x")}});
  EXPECT_TRUE(s.verify().empty());
  // Same size, other bytes.
  Digest config = img.blobs[1].digest;
  std::string bytes = readFile(s.blobPath(config));
  bytes[0] = bytes[0] == 'x' ? 'y' : 'x';
  fs::permissions(s.blobPath(config), fs::perms::owner_write, fs::perm_options::add);
  writeFileAtomic(s.blobPath(config), bytes);
  std::vector<std::string> problems = s.verify();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(config.str()), std::string::npos) << problems[0];
  // Gone altogether.
  fs::remove(s.blobPath(img.blobs[2].digest));
  problems = s.verify();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[1].find("is missing"), std::string::npos) << problems[1];
}

TEST_F(StoreTest, ImagesAddFindListRemove) {
  Store s = Store::open(dir);
  ImageRecord aci = addAci(s, scratch, "example.com/app", "1.0", {file("bin/app", "1")});
  ImageRecord oci = addOci(s, scratch, "docker.io/library/alpine", {{file("a", "x")}}, "3.19");

  EXPECT_EQ(aci.kind, ImageKind::kAci);
  EXPECT_TRUE(aci.id.starts_with("sha512-"));
  EXPECT_GT(aci.size, 0);
  EXPECT_GT(aci.importedAt, 0);
  EXPECT_EQ(aci.labels[0], (std::pair<std::string, std::string>{"version", "1.0"}));
  EXPECT_EQ(oci.tags, std::vector<std::string>{"3.19"});
  ASSERT_EQ(oci.blobs.size(), 3u);
  EXPECT_EQ(oci.blobs[0].role, BlobRole::kManifest);
  EXPECT_EQ(oci.blobs[2].role, BlobRole::kLayer);

  // Full IDs and prefixes, with or without the algorithm.
  EXPECT_EQ(s.findImage(aci.id)->id, aci.id);
  EXPECT_EQ(s.findImage(aci.id.substr(0, 7 + 8))->id, aci.id);
  EXPECT_EQ(s.findImage(aci.id.substr(7, 12))->id, aci.id);
  EXPECT_EQ(s.findImage(oci.id.substr(7, 8))->id, oci.id);
  EXPECT_FALSE(s.findImage(oci.id.substr(7, 7)));  // too short
  EXPECT_FALSE(s.findImage("sha256:0000000000"));
  EXPECT_FALSE(s.findImage("nothex!!!!"));

  std::vector<ImageRecord> all = s.listImages();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, aci.id);
  EXPECT_EQ(all[0], aci);

  EXPECT_TRUE(s.removeImage(aci.id));
  EXPECT_FALSE(s.removeImage(aci.id));
  EXPECT_FALSE(s.findImage(aci.id));
  EXPECT_EQ(s.listImages().size(), 1u);
  // Its blob stays until gc.
  EXPECT_TRUE(s.hasBlob(aci.blobs[0].digest));
}

TEST_F(StoreTest, AmbiguousPrefix) {
  // Two manifests whose sha256 digests share 8 hex digits (a birthday search, ~2^16 hashes).
  std::unordered_map<std::string, std::string> seen;
  std::string a, b;
  for (int i = 0; a.empty(); ++i) {
    std::string m = "manifest " + std::to_string(i);
    std::string prefix = Digest::of(DigestAlgorithm::kSha256, m).hex().substr(0, 8);
    auto [it, fresh] = seen.emplace(prefix, m);
    if (!fresh) {
      a = it->second;
      b = m;
    }
  }
  Store s = Store::open(dir);
  std::string prefix;
  for (const std::string& m : {a, b}) {
    oci::BlobInfo info = s.putBlob(m, "manifest");
    prefix = info.digest.hex().substr(0, 8);
    s.addImage(manifestOnly(info, "example.com/x"));
  }
  std::string msg = errorOf([&] { s.findImage(prefix); });
  EXPECT_NE(msg.find("ambiguous"), std::string::npos) << msg;
  EXPECT_EQ(codeOf([&] { s.findImage("sha256:" + prefix); }), Errc::kInvalid);
}

TEST_F(StoreTest, AddImageChecksBlobsAndIds) {
  Store s = Store::open(dir);
  oci::BlobInfo m = s.putBlob("{}", "manifest");
  Digest absent = Digest::of(DigestAlgorithm::kSha256, "absent");
  ImageRecord r = manifestOnly(m, "example.com/x");
  r.blobs.push_back({BlobRole::kLayer, absent, 3, ""});
  EXPECT_EQ(codeOf([&] { s.addImage(r); }), Errc::kNotFound);
  r.blobs.pop_back();
  r.blobs[0].size = 99;
  EXPECT_EQ(codeOf([&] { s.addImage(r); }), Errc::kDigestMismatch);
  r.blobs[0].size = m.size;
  r.id = Digest::of(DigestAlgorithm::kSha256, "other").str();
  EXPECT_EQ(codeOf([&] { s.addImage(r); }), Errc::kInvalid);
  EXPECT_TRUE(s.listImages().empty());
}

TEST_F(StoreTest, AddImageIsIdempotent) {
  Store s = Store::open(dir);
  ImageRecord a = addOci(s, scratch, "docker.io/library/alpine", {{file("a", "x")}}, "3.19");
  ImageRecord b = addOci(s, scratch, "docker.io/library/alpine", {{file("a", "x")}}, "latest");
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(b.tags, (std::vector<std::string>{"3.19", "latest"}));
  EXPECT_EQ(b.importedAt, a.importedAt);
  EXPECT_EQ(s.listImages().size(), 1u);
}

TEST_F(StoreTest, TranslationMap) {
  Store s = Store::open(dir);
  ImageRecord aci = addAci(s, scratch, "example.com/app", "1.0", {file("a", "1")});
  // Its OCI translation arrives later.
  LockHold session = s.lockShared();
  oci::BlobInfo m = s.putBlob(R"({"schemaVersion":2})", "translation");
  ImageRecord more = aci;
  more.translatedId = m.digest.str();
  more.blobs.push_back({BlobRole::kManifest, m.digest, m.size, ""});
  more.size = 0;
  s.addImage(more);
  EXPECT_EQ(s.findImage(m.digest.str())->id, aci.id);
  EXPECT_EQ(s.findImage(aci.id)->translatedId, m.digest.str());
  EXPECT_EQ(s.findImage(aci.id)->blobs.size(), 2u);
}

TEST_F(StoreTest, FindByNameNewestWins) {
  Store s = Store::open(dir);
  ImageRecord v1 = addAci(s, scratch, "example.com/app", "1.0", {file("a", "1")}, {}, 1000);
  ImageRecord v2 = addAci(s, scratch, "example.com/app", "2.0", {file("a", "2")}, {}, 2000);
  ImageRecord other = addAci(s, scratch, "example.com/other", "3.0", {file("a", "3")}, {}, 3000);
  EXPECT_EQ(s.findByName({"example.com/app", {}, std::nullopt})->id, v2.id);
  EXPECT_EQ(s.findByName({"example.com/app", {{"version", "1.0"}}, std::nullopt})->id, v1.id);
  EXPECT_EQ(
      s.findByName({"example.com/app", {{"version", "1.0"}, {"os", "linux"}}, std::nullopt})->id,
      v1.id);
  EXPECT_FALSE(s.findByName({"example.com/app", {{"version", "3.0"}}, std::nullopt}));
  EXPECT_FALSE(s.findByName({"example.com/none", {}, std::nullopt}));

  ImageRecord oci = addOci(s, scratch, "docker.io/library/alpine", {{file("a", "x")}}, "3.19");
  EXPECT_EQ(s.findByName({"docker.io/library/alpine", {}, "3.19"})->id, oci.id);
  EXPECT_FALSE(s.findByName({"docker.io/library/alpine", {}, "3.18"}));
  (void)other;
}

TEST_F(StoreTest, Touch) {
  Store s = Store::open(dir);
  ImageRecord img = addAci(s, scratch, "example.com/app", "1.0", {file("a", "1")}, {}, 1000);
  EXPECT_EQ(img.lastUsedAt, 1000);
  s.touch(img.id);
  EXPECT_GT(s.findImage(img.id)->lastUsedAt, 1000);
}

// A pod start's last-use write stays in the write-ahead log (its close does not checkpoint, which
// would wait for fdatasyncs); the next connection sees it, and a command closing the store
// otherwise checkpoints it into the index.
TEST_F(StoreTest, DeferredCheckpointKeepsTheWrite) {
  std::string id;
  {
    Store s = Store::open(dir);
    id = addAci(s, scratch, "example.com/app", "1.0", {file("a", "1")}, {}, 1000).id;
  }
  const fs::path wal = dir / "cas" / "index.db-wal";
  ASSERT_EQ(fs::file_size(wal), 0u);  // the last close checkpointed and emptied it
  {
    Store s = Store::open(dir);
    s.deferCheckpoints();
    s.touch(id);
  }
  EXPECT_GT(fs::file_size(wal), 0u) << "the start's close checkpointed the log";
  {
    Store s = Store::open(dir);
    EXPECT_GT(s.findImage(id)->lastUsedAt, 1000);
  }
  EXPECT_EQ(fs::file_size(wal), 0u) << "an ordinary close left the log unchecked";
  Store s = Store::open(dir);
  EXPECT_GT(s.findImage(id)->lastUsedAt, 1000);
}

TEST_F(StoreTest, Remotes) {
  Store s = Store::open(dir);
  EXPECT_FALSE(s.remote("https://example.com/app.aci"));
  Remote r{"https://example.com/app.aci", "\"abc\"", 600, 1000, "sha512-00"};
  s.setRemote(r);
  std::optional<Remote> got = s.remote(r.url);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->etag, "\"abc\"");
  EXPECT_EQ(got->cacheMaxAgeSeconds, 600);
  EXPECT_EQ(got->imageId, "sha512-00");
  EXPECT_TRUE(got->fresh(1500));
  EXPECT_FALSE(got->fresh(1600));
  r.etag = "";
  r.cacheMaxAgeSeconds.reset();
  r.fetchedAt = 2000;
  s.setRemote(r);
  got = s.remote(r.url);
  EXPECT_EQ(got->etag, "");
  EXPECT_FALSE(got->cacheMaxAgeSeconds);
  EXPECT_FALSE(got->fresh(2000));
}

}  // namespace
}  // namespace ferry::store
