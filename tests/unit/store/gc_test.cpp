// gc, concurrent writers, crashes and a full disk.
#include <signal.h>
#include <sys/mount.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include <gtest/gtest.h>

#include "stage0/store/store.hpp"
#include "tests/unit/store/test_util.hpp"

namespace ferry::store {
namespace {

using namespace test;
using namespace std::chrono_literals;

struct GcTest : ::testing::Test {
  TempDir tmp{fs::temp_directory_path(), "ferry-gc-test-"};
  fs::path dir = tmp.path() / "data";
  fs::path scratch = tmp.path();
};

void age(const fs::path& p, std::chrono::seconds by) {
  struct timeval tv[2];
  gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= by.count();
  tv[1] = tv[0];
  ASSERT_EQ(::lutimes(p.c_str(), tv), 0) << p;
}

std::set<std::string> blobNames(const Store& s) {
  std::set<std::string> out;
  for (const Digest& d : s.listBlobs()) out.insert(d.str());
  return out;
}

TEST_F(GcTest, RemovesOnlyWhatNoImageUses) {
  Store s = Store::open(dir);
  Content shared = {file("shared", "s")};
  ImageRecord keep = addOci(s, scratch, "example.com/keep", {shared, {file("k", "k")}});
  ImageRecord drop =
      addOci(s, scratch, "example.com/drop", {shared, {file("d", "d")}}, "latest", "drop");
  ImageRecord aci = addAci(s, scratch, "example.com/app", "1.0", {file("a", "a")});
  TreeInfo keepTree = s.renderTree(keep.id);
  TreeInfo dropTree = s.renderTree(drop.id);
  size_t before = s.listBlobs().size();

  EXPECT_TRUE(s.removeImage(drop.id));
  EXPECT_TRUE(s.removeImage(aci.id));
  GcStats st = s.gc(0s);
  // drop's manifest, config and own layer; the ACI. The shared layer stays.
  EXPECT_EQ(st.blobsRemoved, 4);
  EXPECT_GT(st.bytesFreed, 0);
  EXPECT_EQ(st.treesRemoved, 1);
  EXPECT_EQ(s.listBlobs().size(), before - 4);
  for (const BlobRef& b : keep.blobs) EXPECT_TRUE(s.hasBlob(b.digest)) << b.digest.str();
  EXPECT_FALSE(s.hasBlob(aci.blobs[0].digest));
  EXPECT_TRUE(fs::exists(keepTree.rootfs));
  EXPECT_FALSE(fs::exists(dropTree.rootfs));
  EXPECT_TRUE(fs::is_empty(dir / "cas/tmp"));
  EXPECT_TRUE(s.verify().empty());
  EXPECT_EQ(s.renderTree(keep.id).key, keepTree.key);

  // Nothing more to do.
  st = s.gc(0s);
  EXPECT_EQ(st.blobsRemoved + st.treesRemoved + st.tempsRemoved, 0);
}

TEST_F(GcTest, RespectsTheGracePeriod) {
  Store s = Store::open(dir);
  oci::BlobInfo young = s.putBlob("young", "young");
  oci::BlobInfo old = s.putBlob("old", "old");
  age(s.blobPath(old.digest), 2h);
  fs::create_directory(dir / "cas/tmp/tree-young");
  fs::create_directory(dir / "cas/tmp/tree-old");
  age(dir / "cas/tmp/tree-old", 2h);
  writeFileAtomic(dir / "cas/.blob.tmp-old", "partial");
  age(dir / "cas/.blob.tmp-old", 2h);

  // The grace period protects blobs; temps go at once whatever their age: every writer holds
  // the store's lock shared while its temps exist, so under gc's exclusive hold they are a dead
  // writer's (issue 13 item 7).
  GcStats st = s.gc(1h);
  EXPECT_EQ(st.blobsRemoved, 1);
  EXPECT_EQ(st.tempsRemoved, 3);
  EXPECT_TRUE(s.hasBlob(young.digest));
  EXPECT_FALSE(s.hasBlob(old.digest));
  EXPECT_FALSE(fs::exists(dir / "cas/tmp/tree-young"));
  EXPECT_FALSE(fs::exists(dir / "cas/tmp/tree-old"));
  EXPECT_FALSE(fs::exists(dir / "cas/.blob.tmp-old"));

  st = s.gc(0s);
  EXPECT_EQ(st.blobsRemoved, 1);
  EXPECT_EQ(st.tempsRemoved, 0);
  EXPECT_TRUE(s.listBlobs().empty());
}

TEST_F(GcTest, KeepsTreesItsCallerStillUses) {
  // A pod's tree outlives its image until the pod is gone (ferry image gc asks the pods).
  Store s = Store::open(dir);
  ImageRecord img = addAci(s, scratch, "example.com/app", "1.0", {file("a", "a")});
  TreeInfo tree = s.renderTree(img.id);
  EXPECT_TRUE(s.removeImage(img.id));
  int calls = 0;
  GcStats st = s.gc(0s, [&] {
    ++calls;
    // Spelled another way (trailing slash, a dot) and with paths that are no tree of this store.
    return std::vector<fs::path>{tree.rootfs.string() + "/", dir / "cas/trees/./nope/rootfs",
                                 "/elsewhere/trees/" + tree.key + "/rootfs"};
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.treesRemoved, 0);
  EXPECT_TRUE(fs::exists(tree.rootfs / "a"));
  EXPECT_TRUE(s.verify().empty());

  st = s.gc(0s, [] { return std::vector<fs::path>{}; });
  EXPECT_EQ(st.treesRemoved, 1);
  EXPECT_FALSE(fs::exists(tree.rootfs));
}

TEST_F(GcTest, RemovesUnrecordedTrees) {
  // A renderer that crashed between renaming its tree into place and recording it.
  Store s = Store::open(dir);
  fs::create_directories(dir / "cas/trees/abc/rootfs");
  EXPECT_TRUE(s.verify().empty());
  EXPECT_EQ(s.gc(1h).treesRemoved, 1);
  EXPECT_TRUE(fs::is_empty(dir / "cas/trees"));
}

// Runs fn in a child process; returns its exit status (0: fn returned without throwing).
template <typename Fn>
pid_t spawn(Fn fn) {
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      fn();
    } catch (const std::exception& e) {
      fprintf(stderr, "child %d: %s\n", getpid(), e.what());
      code = 1;
    }
    fflush(stderr);
    _exit(code);
  }
  return pid;
}

int waitFor(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(GcTest, ConcurrentWritersAndGc) {
  { Store::open(dir); }
  constexpr int kWriters = 8;
  constexpr int kRounds = 6;
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    pids.push_back(spawn([&, w] {
      fs::path mine = scratch / ("w" + std::to_string(w));
      fs::create_directory(mine);
      Store s = Store::open(dir);
      for (int round = 0; round < kRounds; ++round) {
        // The same image in every writer, and one of its own.
        ImageRecord same = addOci(s, mine, "example.com/same",
                                  {{file("common", "c")}, {file("r", std::to_string(round))}});
        ImageRecord own = addOci(s, mine, "example.com/w" + std::to_string(w),
                                 {{file("common", "c")}, {file("w", std::to_string(w))}},
                                 std::to_string(round), std::to_string(round));
        s.renderTree(own.id);
        if (round % 2 == 1) s.removeImage(own.id);
        if (!s.findImage(same.id)) throw Error(Errc::kNotFound, "lost " + same.id);
      }
    }));
  }
  pid_t collector = spawn([&] {
    Store s = Store::open(dir);
    for (int i = 0; i < 20; ++i) {
      s.gc(0s);
      usleep(2000);
    }
  });
  for (pid_t p : pids) EXPECT_EQ(waitFor(p), 0);
  EXPECT_EQ(waitFor(collector), 0);

  Store s = Store::open(dir);
  std::vector<std::string> problems = s.verify();
  EXPECT_TRUE(problems.empty()) << problems.front();
  // kRounds shared images (one per round) and each writer's even rounds.
  EXPECT_EQ(s.listImages().size(), static_cast<size_t>(kRounds + kWriters * kRounds / 2));
  for (const ImageRecord& img : s.listImages()) {
    for (const BlobRef& b : img.blobs) EXPECT_TRUE(s.hasBlob(b.digest)) << img.name;
  }
  s.gc(0s);
  EXPECT_TRUE(s.verify().empty());
}

TEST_F(GcTest, KilledWriterLeavesAVerifiableStore) {
  { Store::open(dir); }
  for (int attempt = 0; attempt < 5; ++attempt) {
    pid_t pid = spawn([&] {
      Store s = Store::open(dir);
      for (int i = 0;; ++i) {
        LockHold session = s.lockShared();
        BlobWriter w = s.newBlob("big blob");
        std::string chunk(1 << 16, static_cast<char>('a' + attempt));
        for (int k = 0; k < 64; ++k) w.write(chunk + std::to_string(i));
        oci::BlobInfo b = w.commit();
        s.addImage(manifestOnly(b, "example.com/big"));
      }
    });
    usleep(20'000 + attempt * 15'000);
    kill(pid, SIGKILL);
    EXPECT_EQ(waitFor(pid), 128 + SIGKILL);
    Store s = Store::open(dir);
    std::vector<std::string> problems = s.verify();
    EXPECT_TRUE(problems.empty()) << problems.front();
  }
  Store s = Store::open(dir);
  s.gc(0s);
  EXPECT_TRUE(s.verify().empty());
  for (const auto& e : fs::directory_iterator(dir / "cas")) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".blob.tmp-")) << e.path();
  }
  // And writing again works.
  EXPECT_TRUE(s.hasBlob(s.putBlob("after", "after").digest));
}

// A 4 MiB tmpfs as the store's directory, unmounted at the end.
struct SmallDisk {
  fs::path path;
  bool mounted = false;
  explicit SmallDisk(fs::path p) : path(std::move(p)) {
    fs::create_directories(path);
    mounted = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=4m") == 0;
  }
  ~SmallDisk() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

TEST_F(GcTest, DiskFullLeavesTheStoreAsBefore) {
  SmallDisk disk(scratch / "small");
  if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << strerror(errno);
  {
    Store s = Store::open(disk.path);
    ImageRecord img = addOci(s, scratch, "example.com/small", {{file("a", "x")}});
    std::vector<ImageRecord> images = s.listImages();
    std::set<std::string> blobs = blobNames(s);

    std::string msg = errorOf([&] {
      BlobWriter w = s.newBlob("layer 1 of example.com/huge");
      std::string chunk(1 << 20, 'z');
      for (int i = 0; i < 8; ++i) w.write(chunk);
      w.commit();
    });
    EXPECT_NE(msg.find("layer 1 of example.com/huge"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;

    EXPECT_EQ(s.listImages(), images);
    EXPECT_EQ(blobNames(s), blobs);
    for (const auto& e : fs::directory_iterator(disk.path / "cas")) {
      EXPECT_FALSE(e.path().filename().string().starts_with(".blob.tmp-")) << e.path();
    }
    EXPECT_TRUE(s.verify().empty());
    // The store still works once there is room again.
    ImageRecord next = addOci(s, scratch, "example.com/next", {{file("b", "y")}});
    EXPECT_TRUE(s.findImage(next.id));
    EXPECT_TRUE(s.findImage(img.id));
  }
}

}  // namespace
}  // namespace ferry::store
