// The pod state machine on disk: states from the lock, lookup by UUID and prefix, gc's mark and
// sweep, rm, and the refusal to delete a pod while something is still mounted below it.
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage0/pod/pods.hpp"

namespace ferry::pod {
namespace {

namespace fs = std::filesystem;

// A PodCleaner that unmounts what is below the pod (what a stage1's gc does), or does nothing.
class FakeCleaner : public PodCleaner {
 public:
  explicit FakeCleaner(bool unmount) : unmount_(unmount) {}
  void cleanup(const Pod& pod) override {
    ++calls;
    if (!unmount_) return;
    for (const auto& m : mountsBelow(pod.path)) ::umount2(m.c_str(), MNT_DETACH);
  }
  int calls = 0;

 private:
  bool unmount_;
};

class PodsTest : public ::testing::Test {
 protected:
  TempDir tmp_{fs::temp_directory_path(), "ferry-pods-test-"};
  Pods pods_{tmp_.path()};

  // A pod in `dir`, its lock taken (returned) or not.
  PodLock make(Dir dir, const std::string& uuid) {
    fs::create_directories(pods_.pathOf(dir, uuid));
    return PodLock::create(pods_.pathOf(dir, uuid));
  }
};

TEST_F(PodsTest, StateComesFromTheDirectoryAndTheLock) {
  PodLock preparing = make(Dir::kPrepare, "11111111-0000-4000-8000-000000000000");
  PodLock running = make(Dir::kRun, "22222222-0000-4000-8000-000000000000");
  make(Dir::kRun, "33333333-0000-4000-8000-000000000000").unlock();
  EXPECT_EQ(pods_.require("1111").state(), State::kPreparing);
  EXPECT_EQ(pods_.require("2222").state(), State::kRunning);
  EXPECT_EQ(pods_.require("3333").state(), State::kExited);
  preparing.unlock();
  EXPECT_EQ(pods_.require("1111").state(), State::kAbortedPrepare);
  running.unlock();
  EXPECT_EQ(pods_.require("2222").state(), State::kExited);
}

TEST_F(PodsTest, FindsByUniquePrefix) {
  make(Dir::kPrepared, "abcd0000-0000-4000-8000-000000000000").unlock();
  make(Dir::kPrepared, "abce0000-0000-4000-8000-000000000000").unlock();
  EXPECT_EQ(pods_.require("abcd").uuid, "abcd0000-0000-4000-8000-000000000000");
  EXPECT_THROW(pods_.find("abc"), Error);
  EXPECT_FALSE(pods_.find("ffff"));
  EXPECT_THROW(pods_.require("ffff"), Error);
}

TEST_F(PodsTest, FindsAFullUuidWithoutListing) {
  make(Dir::kRun, "abcd0000-0000-4000-8000-000000000000").unlock();
  // Listing now fails (embryo/ is a file): a full UUID is looked up in each state directory.
  fs::remove(pods_.dirOf(Dir::kEmbryo));
  std::ofstream(pods_.dirOf(Dir::kEmbryo)) << "x";
  EXPECT_THROW(pods_.list(), std::exception);
  Pod p = pods_.require("ABCD0000-0000-4000-8000-000000000000");
  EXPECT_EQ(p.uuid, "abcd0000-0000-4000-8000-000000000000");
  EXPECT_EQ(p.dir, Dir::kRun);
  EXPECT_EQ(p.path, pods_.pathOf(Dir::kRun, p.uuid));
  EXPECT_THROW(pods_.find("abcd"), std::exception);  // a prefix needs the listing
}

TEST_F(PodsTest, GcMarksThenSweepsAfterTheGracePeriod) {
  make(Dir::kRun, "44444444-0000-4000-8000-000000000000").unlock();
  PodLock running = make(Dir::kRun, "55555555-0000-4000-8000-000000000000");
  FakeCleaner cleaner(true);
  GcResult r = gc(pods_, cleaner, {std::chrono::hours(1), std::chrono::hours(24)});
  EXPECT_EQ(r.marked, std::vector<std::string>{"44444444-0000-4000-8000-000000000000"});
  EXPECT_TRUE(r.removed.empty());
  EXPECT_EQ(pods_.require("4444").dir, Dir::kExitedGarbage);
  EXPECT_EQ(pods_.require("5555").dir, Dir::kRun);  // running: untouched
  EXPECT_EQ(cleaner.calls, 1);
  r = gc(pods_, cleaner, {std::chrono::seconds(0), std::chrono::hours(24)});
  EXPECT_EQ(r.removed, std::vector<std::string>{"44444444-0000-4000-8000-000000000000"});
  EXPECT_FALSE(pods_.find("4444"));
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(PodsTest, GcRemovesAbortedPreparesAndExpiredPreparedPods) {
  make(Dir::kPrepare, "66666666-0000-4000-8000-000000000000").unlock();
  PodLock busy = make(Dir::kPrepare, "77777777-0000-4000-8000-000000000000");
  make(Dir::kPrepared, "88888888-0000-4000-8000-000000000000").unlock();
  FakeCleaner cleaner(true);
  gc(pods_, cleaner, {std::chrono::hours(1), std::chrono::hours(1)});
  EXPECT_FALSE(pods_.find("6666"));
  EXPECT_TRUE(pods_.find("7777"));
  EXPECT_TRUE(pods_.find("8888"));
  gc(pods_, cleaner, {std::chrono::hours(1), std::chrono::seconds(0)});
  EXPECT_FALSE(pods_.find("8888"));
}

TEST_F(PodsTest, RmRefusesARunningPod) {
  PodLock running = make(Dir::kRun, "99999999-0000-4000-8000-000000000000");
  FakeCleaner cleaner(true);
  EXPECT_THROW(remove(pods_, pods_.require("9999"), cleaner), Error);
  running.unlock();
  remove(pods_, pods_.require("9999"), cleaner);
  EXPECT_FALSE(pods_.find("9999"));
  EXPECT_EQ(cleaner.calls, 1);
}

// Deleting through a bind mount would delete the host's files: a pod with a mount left below it
// is never deleted, and its mounted content survives.
TEST_F(PodsTest, NeverDeletesThroughAMount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  TempDir host(fs::temp_directory_path(), "ferry-pods-host-");
  { std::ofstream(host.path() / "precious") << "keep"; }
  make(Dir::kRun, "aaaaaaaa-0000-4000-8000-000000000000").unlock();
  fs::path target = pods_.pathOf(Dir::kRun, "aaaaaaaa-0000-4000-8000-000000000000") / "vol";
  fs::create_directories(target);
  ASSERT_EQ(::mount(host.path().c_str(), target.c_str(), nullptr, MS_BIND, nullptr), 0);
  FakeCleaner lazy(false);
  EXPECT_THROW(remove(pods_, pods_.require("aaaa"), lazy), Error);
  EXPECT_TRUE(fs::exists(host.path() / "precious"));
  // The pod is in garbage/ now; a gc with a cleaner that unmounts finishes the job.
  FakeCleaner cleaner(true);
  GcResult r = gc(pods_, cleaner, {std::chrono::seconds(0), std::chrono::hours(24)});
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_FALSE(pods_.find("aaaa"));
  EXPECT_TRUE(fs::exists(host.path() / "precious"));
}

}  // namespace
}  // namespace ferry::pod
