// Real cgroups, created under the test's own cgroup in every hierarchy and removed again.
#include "common/cgroup.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::cgroup {
namespace {

namespace fs = std::filesystem;

std::string uniqueName() {
  std::random_device rd;
  return "ferry-cgtest-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

bool hasFile(const Group& g, const char* file) {
  for (const Member& m : g.members()) {
    if (fs::exists(m.dir / file)) return true;
  }
  return false;
}

// A group that is removed when the test ends, whatever happens.
class TestGroup {
 public:
  TestGroup() : group_(Group::create(Layout::detect(), uniqueName())) {}
  ~TestGroup() {
    try {
      group_.remove();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot clean up: " << e.what();
    }
  }
  const Group& operator*() const { return group_; }
  const Group* operator->() const { return &group_; }

 private:
  Group group_;
};

// Forks a child that moves itself into g (through joinProcs, as the pod init does) and then
// runs body; the child's exit status is body's return value.
template <typename F>
pid_t spawnIn(const Group& g, F body) {
  std::vector<std::string> files = g.procsFiles();
  std::vector<const char*> ptrs;
  for (const auto& f : files) ptrs.push_back(f.c_str());
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    size_t failed = 0;
    if (joinProcs(ptrs.data(), ptrs.size(), &failed) != 0) ::_exit(100);
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(101);
    ::close(ready[1]);
    ::_exit(body());
  }
  ::close(ready[1]);
  char c;
  ssize_t n = ::read(ready[0], &c, 1);
  ::close(ready[0]);
  EXPECT_EQ(n, 1) << "the child could not join the group";
  return pid;
}

int waitStatus(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST(CgroupLayout, ParsesHybrid) {
  auto layout = Layout::parse(
      "9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n",
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(layout.hierarchies().size(), 4u);
  EXPECT_FALSE(layout.pureV2());
  EXPECT_EQ(layout.hierarchies()[0].own, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(layout.hierarchies()[1].own, "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(layout.hierarchies()[1].version, Version::kV1);
  EXPECT_EQ(layout.hierarchies()[2].mount, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout.hierarchies()[3].version, Version::kV2);
  EXPECT_EQ(layout.hierarchies()[3].own, "/sys/fs/cgroup/unified");
}

// Without `cpuset`, a v1 cpuset hierarchy of its own gets no member (the host's first cpuset
// cgroup costs the kernel two static-key patches); one shared with another controller keeps it.
// v1 only: place() reads nothing of a v1 hierarchy.
TEST(CgroupLayout, PlaceWithoutCpusetLeavesALoneCpusetOut) {
  auto layout = Layout::parse(
      "5:cpuset:/\n4:memory:/a\n3:freezer,cpuset:/b\n",
      "30 23 0:27 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
      "35 23 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "36 23 0:33 / /sys/fs/cgroup/freezer,cpuset rw - cgroup cgroup rw,freezer,cpuset\n");
  ASSERT_EQ(layout.hierarchies().size(), 3u);
  Group g = Group::place(layout, "ferry-u", false);
  ASSERT_EQ(g.members().size(), 2u);
  EXPECT_EQ(g.members()[0].dir, "/sys/fs/cgroup/memory/a/ferry-u");
  EXPECT_EQ(g.members()[1].dir, "/sys/fs/cgroup/freezer,cpuset/b/ferry-u");
  ASSERT_EQ(Group::place(layout, "ferry-u").members().size(), 3u);
  EXPECT_EQ(Group::place(layout, "ferry-u").members()[0].dir, "/sys/fs/cgroup/cpuset/ferry-u");
}

TEST(CgroupLayout, ParsesPureV2WithSubtreeMount) {
  // A mount showing a subtree (a container's view): the path is relative to the mount's root.
  auto layout = Layout::parse("0::/user.slice/session-1.scope\n",
                              "29 23 0:26 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(layout.hierarchies().size(), 1u);
  EXPECT_TRUE(layout.pureV2());
  EXPECT_EQ(layout.hierarchies()[0].own, "/sys/fs/cgroup/session-1.scope");
  // A hierarchy with no mount is left out.
  EXPECT_TRUE(Layout::parse("4:memory:/\n", "").hierarchies().empty());
}

TEST(CgroupLayout, DetectsThisMachine) {
  auto layout = Layout::detect();
  ASSERT_FALSE(layout.hierarchies().empty()) << "no cgroup hierarchy mounted";
  for (const Hierarchy& h : layout.hierarchies()) {
    EXPECT_TRUE(fs::is_directory(h.own)) << h.own;
    EXPECT_TRUE(fs::exists(h.own / "cgroup.procs")) << h.own;
  }
}

TEST(Cgroup, CreateChildrenAndRemove) {
  std::vector<fs::path> dirs;
  {
    TestGroup g;
    Group app = g->createChild("app-one");
    g->createChild("init");
    for (const Member& m : app.members()) {
      EXPECT_TRUE(fs::is_directory(m.dir)) << m.dir;
      dirs.push_back(m.dir.parent_path());
    }
    // Rebuilt from the recorded directories, the group is the same.
    std::vector<std::pair<std::string, std::string>> recorded;
    for (const Member& m : g->members()) recorded.emplace_back(m.mount, m.dir);
    Group again = Group::fromDirs(recorded);
    ASSERT_EQ(again.members().size(), g->members().size());
    for (size_t i = 0; i < again.members().size(); ++i) {
      EXPECT_EQ(again.members()[i].dir, g->members()[i].dir);
      EXPECT_EQ(again.members()[i].version, g->members()[i].version);
    }
  }
  ASSERT_FALSE(dirs.empty());
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

// On this machine's v1 cpuset hierarchy (if it has one of its own), without `cpuset`: no cgroup
// made, and a process that joins the group stays in the caller's cpuset. Without one (a pure v2
// host, functional.cgroup_v2_vm, which allows no skipped test), nothing is left out.
TEST(Cgroup, NoCgroupInALoneCpusetHierarchy) {
  Layout layout = Layout::detect();
  const Hierarchy* cpuset = nullptr;
  for (const Hierarchy& h : layout.hierarchies()) {
    if (h.version == Version::kV1 && h.controllers == "cpuset") cpuset = &h;
  }
  std::string name = uniqueName();
  Group g = Group::create(layout, name, false);
  if (cpuset == nullptr) {
    EXPECT_EQ(g.members().size(), layout.hierarchies().size());
    g.remove();
    return;
  }
  for (const Member& m : g.members()) EXPECT_NE(m.mount, cpuset->mount) << m.dir;
  EXPECT_EQ(g.members().size(), layout.hierarchies().size() - 1);
  EXPECT_FALSE(fs::exists(cpuset->own / name));
  auto cpusetLine = [] {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(":cpuset:") != std::string::npos) return line;
    }
    return std::string();
  };
  std::string mine = cpusetLine();
  pid_t pid = spawnIn(g, [&] { return cpusetLine() == mine ? 0 : 1; });
  int status = waitStatus(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child left the cpuset";
  g.remove();
}

TEST(Cgroup, RefusesBadNames) {
  auto layout = Layout::detect();
  EXPECT_THROW(Group::create(layout, "a/b"), Error);
  EXPECT_THROW(Group::create(layout, ".."), Error);
  EXPECT_THROW(Group::fromDirs({{"/sys/fs/cgroup/memory", "/tmp/x"}}), Error);
  EXPECT_EQ(appCgroupName("example.com/web"), "app-example.com_web");
}

TEST(Cgroup, JoinListsAndKillsProcesses) {
  for (KillMode mode : {KillMode::kAuto, KillMode::kFreezer, KillMode::kSignal}) {
    TestGroup g;
    if (mode == KillMode::kFreezer && !hasFile(*g, "freezer.state")) continue;
    Group app = g->createChild("app-x");
    // The child forks grandchildren, which inherit the cgroup.
    pid_t pid = spawnIn(app, [] {
      for (int i = 0; i < 4; ++i) {
        if (::fork() == 0) {
          ::pause();
          ::_exit(0);
        }
      }
      ::pause();
      return 0;
    });
    // Wait until the grandchildren are there.
    for (int i = 0; i < 2000 && g->pids().size() < 5; ++i) ::usleep(1000);
    auto pids = g->pids();
    EXPECT_EQ(pids.size(), 5u);
    EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end());
    std::string self = readFile("/proc/" + std::to_string(pid) + "/cgroup");
    EXPECT_NE(self.find("/app-x"), std::string::npos) << self;
    g->kill(mode);
    EXPECT_TRUE(g->pids().empty());
    int status = waitStatus(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  }
}

// A pid read from cgroup.procs whose process exited may belong to another process by the time it
// is signalled: only a pid still listed once pinned is killed (killListed), so a process that is
// not in the group survives a stale list naming its pid.
TEST(Cgroup, KillsOnlyWhatIsStillListed) {
  pid_t outsider = ::fork();
  ASSERT_GE(outsider, 0);
  if (outsider == 0) {
    ::pause();
    ::_exit(0);
  }
  killListed({outsider}, [] { return std::vector<pid_t>{}; });
  ::usleep(20000);
  int status = 0;
  EXPECT_EQ(::waitpid(outsider, &status, WNOHANG), 0) << "a process no longer listed was killed";
  killListed({outsider}, [&] { return std::vector<pid_t>{outsider}; });
  status = waitStatus(outsider);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

TEST(Cgroup, MemoryLimitOomKillsAndIsReported) {
  TestGroup g;
  Group app = g->createChild("app-hog");
  g->delegate();
  try {
    Resources r;
    r.memoryLimit = 32 << 20;
    app.apply(r);
  } catch (const Error& e) {
    if (e.code() == Errc::kUnsupported) GTEST_SKIP() << e.what();
    throw;
  }
  EXPECT_EQ(app.oomKills(), 0u);
  pid_t pid = spawnIn(app, [] {
    size_t size = 256 << 20;
    char* p = static_cast<char*>(
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) return 3;
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    return 0;
  });
  int status = waitStatus(pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_GE(app.oomKills(), 1u);
  EXPECT_GE(g->oomKills(), 1u);  // counted for the pod too
}

TEST(Cgroup, MemoryReservationIsWritten) {
  TestGroup g;
  Resources r;
  r.memoryReservation = 16 << 20;
  try {
    g->apply(r);
  } catch (const Error& e) {
    if (e.code() == Errc::kUnsupported) GTEST_SKIP() << e.what();
    throw;
  }
  bool checked = false;
  for (const Member& m : g->members()) {
    if (fs::exists(m.dir / "memory.low")) {
      EXPECT_EQ(readFile(m.dir / "memory.low"), "16777216\n");
      checked = true;
    } else if (fs::exists(m.dir / "memory.soft_limit_in_bytes")) {
      EXPECT_EQ(readFile(m.dir / "memory.soft_limit_in_bytes"), "16777216\n");
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
}

TEST(Cgroup, PidsLimitRefusesForks) {
  TestGroup g;
  try {
    Resources r;
    r.pidsLimit = 4;
    g->apply(r);
  } catch (const Error& e) {
    if (e.code() == Errc::kUnsupported) GTEST_SKIP() << e.what();
    throw;
  }
  Group app = g->createChild("app-forks");
  // Exit status: how many of 10 forks failed with EAGAIN.
  pid_t pid = spawnIn(app, [] {
    int refused = 0;
    for (int i = 0; i < 10; ++i) {
      pid_t c = ::fork();
      if (c == 0) {
        ::pause();
        ::_exit(0);
      }
      if (c < 0 && errno == EAGAIN) ++refused;
    }
    return refused;
  });
  int status = waitStatus(pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  // 4 processes at most: the child and 3 of its forks.
  EXPECT_EQ(WEXITSTATUS(status), 7);
  g->kill();
}

TEST(Cgroup, CpuLimitsAreWritten) {
  TestGroup g;
  try {
    Resources r;
    r.cpuShares = 512;
    r.cpuQuota = 50000;
    r.cpuPeriod = 100000;
    g->apply(r);
  } catch (const Error& e) {
    if (e.code() == Errc::kUnsupported) GTEST_SKIP() << e.what();
    throw;
  }
  bool checked = false;
  for (const Member& m : g->members()) {
    if (fs::exists(m.dir / "cpu.max")) {
      EXPECT_EQ(readFile(m.dir / "cpu.max"), "50000 100000\n");
      checked = true;
    } else if (fs::exists(m.dir / "cpu.cfs_quota_us")) {
      EXPECT_EQ(readFile(m.dir / "cpu.shares"), "512\n");
      EXPECT_EQ(readFile(m.dir / "cpu.cfs_quota_us"), "50000\n");
      EXPECT_EQ(readFile(m.dir / "cpu.cfs_period_us"), "100000\n");
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
  Resources unlimited;
  unlimited.cpuQuota = -1;
  g->apply(unlimited);
  for (const Member& m : g->members()) {
    if (fs::exists(m.dir / "cpu.max")) {
      EXPECT_EQ(readFile(m.dir / "cpu.max"), "max 100000\n");
    }
    if (fs::exists(m.dir / "cpu.cfs_quota_us")) {
      EXPECT_EQ(readFile(m.dir / "cpu.cfs_quota_us"), "-1\n");
    }
  }
}

TEST(Cgroup, MissingControllerIsAnError) {
  Group none;
  try {
    Resources r;
    r.memoryLimit = 1 << 20;
    none.apply(r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("memory"), std::string::npos) << e.what();
  }
}

TEST(Cgroup, RemoveKillsWhatIsLeft) {
  auto g = Group::create(Layout::detect(), uniqueName());
  Group app = g.createChild("app-left");
  pid_t pid = spawnIn(app, [] {
    ::pause();
    return 0;
  });
  g.remove();
  int status = waitStatus(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  for (const Member& m : g.members()) EXPECT_FALSE(fs::exists(m.dir)) << m.dir;
  g.remove();  // idempotent
}

}  // namespace
}  // namespace ferry::cgroup
