#include "common/idmap.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::idmap {
namespace {

namespace fs = std::filesystem;

TEST(IdRange, RefusesEmptyAndOverflowingRanges) {
  EXPECT_THROW(IdRange::make(100000, 0), Error);
  EXPECT_THROW(IdRange::make(0xFFFFFFFFu, 1), Error);  // (uid_t)-1 is never an ID
  EXPECT_THROW(IdRange::make(0xFFFF0000u, 0x10000), Error);
  IdRange last = IdRange::make(0xFFFF0000u, 0xFFFF);
  EXPECT_EQ(last.hostEnd(), 0xFFFFFFFFull);
  IdRange r = IdRange::make(524288, 65536);
  EXPECT_EQ(r.mapLine(), "0 524288 65536\n");
  EXPECT_EQ(r.describe(), "524288:65536");
  EXPECT_TRUE(r.contains(524288));
  EXPECT_TRUE(r.contains(589823));
  EXPECT_FALSE(r.contains(589824));
  EXPECT_FALSE(r.contains(524287));
}

TEST(IdRange, OverlapIsHalfOpen) {
  IdRange a = IdRange::make(1000, 10);  // 1000…1009
  EXPECT_TRUE(a.overlaps(IdRange::make(1009, 1)));
  EXPECT_TRUE(a.overlaps(IdRange::make(990, 11)));
  EXPECT_TRUE(a.overlaps(IdRange::make(0, 100000)));
  EXPECT_FALSE(a.overlaps(IdRange::make(1010, 5)));
  EXPECT_FALSE(a.overlaps(IdRange::make(990, 10)));
}

TEST(PrivateUsers, ParsesAutoAndUidCount) {
  EXPECT_EQ(parsePrivateUsers("auto"), PrivateUsers(AutoRange{}));
  EXPECT_EQ(parsePrivateUsers("655360:65536"), PrivateUsers(IdRange::make(655360, 65536)));
  for (const char* bad : {"", "yes", "pick", "Auto", "1000", "1000:", ":10", "1000:0", "-1:10",
                          "+5:10", "1000:10:3", " 1000:10", "1000:10 ", "0x80000:65536",
                          "4294967295:1", "4294967000:1000", "99999999999:1"}) {
    try {
      parsePrivateUsers(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid) << bad;
      EXPECT_NE(std::string(e.what()).find("invalid --private-users value"), std::string::npos)
          << e.what();
    }
  }
}

// An /etc with a user, a group and delegated subordinate ranges.
fs::path fakeEtc(const fs::path& dir) {
  fs::path etc = dir / "etc";
  fs::create_directories(etc);
  writeFileAtomic(etc / "passwd",
                  "root:x:0:0:root:/root:/bin/sh\n"
                  "# a comment\n"
                  "broken line\n"
                  "svc:x:589830:589830::/:/bin/false\n");  // inside 0x90000's range
  writeFileAtomic(etc / "group", "root:x:0:\nwheel:x:10:\nbig:x:720896:\n");  // 0xB0000
  writeFileAtomic(etc / "subuid", "alice:524288:65536\nbob:nonsense:1\n");    // 0x80000
  writeFileAtomic(etc / "subgid", "alice:655360:65536\n");                    // 0xA0000
  return etc;
}

TEST(HostIds, NamesWhatARangeOverlaps) {
  TempDir dir(fs::temp_directory_path(), "ferry-idmap-test-");
  HostIds h = HostIds::load(fakeEtc(dir.path()));
  ASSERT_EQ(h.uids.size(), 3u);  // root, svc, alice's range
  ASSERT_EQ(h.gids.size(), 4u);  // root, wheel, big, alice's range
  std::optional<std::string> c = h.conflict(IdRange::make(500000, 30000));
  ASSERT_TRUE(c);
  EXPECT_NE(c->find("range 524288:65536 of alice"), std::string::npos) << *c;
  c = h.conflict(IdRange::make(0x90000, 0x10000));
  ASSERT_TRUE(c);
  EXPECT_NE(c->find("user svc (589830)"), std::string::npos) << *c;
  EXPECT_TRUE(h.conflict(IdRange::make(0xA0000, 1)));  // a subgid range counts as well
  EXPECT_FALSE(h.conflict(IdRange::make(0xC0000, 0x10000)));
  EXPECT_TRUE(HostIds::load(dir.path() / "missing").uids.empty());
}

TEST(RangeRegistry, AutoSkipsHostIdsAndHeldRanges) {
  TempDir dir(fs::temp_directory_path(), "ferry-idmap-test-");
  RangeRegistry reg(dir.path() / "userns", HostIds::load(fakeEtc(dir.path())));
  // 0x80000 (alice's subuids), 0x90000 (svc), 0xA0000 (alice's subgids), 0xB0000 (group big)
  // are the host's.
  IdRange a = reg.acquire("pod-a", AutoRange{});
  EXPECT_EQ(a, IdRange::make(0xC0000, 0x10000));
  // An explicit range next to it; the next auto range avoids it.
  IdRange e = reg.acquire("pod-e", IdRange::make(0xD0000 + 5, 10));
  IdRange b = reg.acquire("pod-b", AutoRange{});
  EXPECT_EQ(b, IdRange::make(0xE0000, 0x10000));
  EXPECT_EQ(reg.acquire("pod-a", AutoRange{}), a);  // a retried prepare gets its range again
  EXPECT_THROW(reg.acquire("pod-a", IdRange::make(0x200000, 10)), Error);

  std::vector<Holding> held = reg.list();
  ASSERT_EQ(held.size(), 3u);
  std::optional<Holding> he = reg.find("pod-e");
  ASSERT_TRUE(he);
  EXPECT_EQ(he->range, e);
  EXPECT_FALSE(he->automatic);
  EXPECT_TRUE(reg.find("pod-a")->automatic);

  // Released ranges are free again; releasing twice is fine.
  reg.release("pod-a");
  reg.release("pod-a");
  EXPECT_FALSE(reg.find("pod-a"));
  EXPECT_EQ(reg.acquire("pod-c", AutoRange{}), a);

  // A fresh registry on the same directory (another ferry) sees the same holdings.
  RangeRegistry again(dir.path() / "userns", HostIds{});
  EXPECT_EQ(again.list().size(), 3u);
  EXPECT_EQ(fs::status(dir.path() / "userns").permissions(), fs::perms::owner_all);
}

TEST(RangeRegistry, RefusesExplicitRangesThatShareIds) {
  TempDir dir(fs::temp_directory_path(), "ferry-idmap-test-");
  RangeRegistry reg(dir.path() / "userns", HostIds::load(fakeEtc(dir.path())));
  auto refusal = [&](std::string_view owner, IdRange r) {
    try {
      reg.acquire(owner, r);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("p1", IdRange::make(0, 65536)).find("includes the host's root"),
            std::string::npos);
  EXPECT_NE(refusal("p1", IdRange::make(524288, 65536)).find("alice"), std::string::npos);
  EXPECT_NE(refusal("p1", IdRange::make(720896, 1000)).find("group big"), std::string::npos);
  IdRange a = reg.acquire("auto-pod", AutoRange{});
  EXPECT_NE(refusal("p1", IdRange::make(a.hostStart() + 100, 1)).find("of pod auto-pod"),
            std::string::npos);
  // Explicit ranges may overlap each other: the operator chose to share them.
  IdRange x = IdRange::make(0x1000000, 65536);
  EXPECT_EQ(reg.acquire("p1", x), x);
  EXPECT_EQ(reg.acquire("p2", x), x);
  // Owners become file names: only [A-Za-z0-9-].
  for (const char* bad : {"", "../x", "a/b", "lock", ".hidden", "-x"}) {
    EXPECT_THROW(reg.acquire(bad, AutoRange{}), Error) << bad;
  }
}

// Processes that choose at the same moment never get the same range: each child waits on a
// pipe until all are forked, then acquires, and the ranges recorded must be disjoint.
TEST(RangeRegistry, ConcurrentAcquisitionsAreDisjoint) {
  TempDir dir(fs::temp_directory_path(), "ferry-idmap-test-");
  const fs::path regDir = dir.path() / "userns";
  constexpr int kChildren = 8;
  for (int round = 0; round < 5; ++round) {
    int gate[2];
    ASSERT_EQ(::pipe(gate), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < kChildren; ++i) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(gate[1]);
        char c;
        [[maybe_unused]] ssize_t n = ::read(gate[0], &c, 1);  // EOF: all forked
        try {
          RangeRegistry reg(regDir, HostIds{});
          reg.acquire("r" + std::to_string(round) + "-" + std::to_string(i), AutoRange{});
          ::_exit(0);
        } catch (...) {
          ::_exit(1);
        }
      }
      pids.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  std::vector<Holding> held = RangeRegistry(regDir, HostIds{}).list();
  ASSERT_EQ(held.size(), 5u * kChildren);
  for (size_t i = 0; i < held.size(); ++i) {
    for (size_t j = i + 1; j < held.size(); ++j) {
      EXPECT_FALSE(held[i].range.overlaps(held[j].range))
          << held[i].owner << " and " << held[j].owner << " both hold " << held[i].range.describe();
    }
  }
}

}  // namespace
}  // namespace ferry::idmap
