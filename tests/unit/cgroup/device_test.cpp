// Device rules: the policy (pure), its cgroup v2 program (run by a small interpreter of the
// instructions the builder may emit, against the policy's own answer), the policy on real
// cgroups (each kernel interface alone), and the checks on a pod's recorded cgroup paths.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "common/cgroup.hpp"
#include "common/cgroup_devices.hpp"
#include "common/device_program.hpp"
#include "common/device_rules.hpp"
#include "common/error.hpp"

namespace ferry::cgroup {
namespace {

namespace fs = std::filesystem;

DeviceRule rule(bool allow, const std::string& type, int64_t major, int64_t minor,
                const std::string& access = "rwm") {
  return DeviceRule::fromOci(allow, type, major, minor, access, "test");
}

TEST(DevicePolicy, DefaultsAreTheOciAllowlist) {
  DevicePolicy p = DevicePolicy::defaults();
  for (uint32_t minor : {3u, 5u, 7u, 8u, 9u}) {
    EXPECT_TRUE(p.allows('c', 1, minor, kDeviceRead | kDeviceWrite | kDeviceMknod)) << minor;
  }
  EXPECT_TRUE(p.allows('c', 5, 0, kDeviceRead | kDeviceWrite));    // tty
  EXPECT_TRUE(p.allows('c', 5, 2, kDeviceRead | kDeviceWrite));    // ptmx
  EXPECT_TRUE(p.allows('c', 136, 7, kDeviceRead | kDeviceWrite));  // a pty slave
  EXPECT_FALSE(p.allows('c', 1, 1, kDeviceRead));                  // /dev/mem
  EXPECT_FALSE(p.allows('b', 7, 0, kDeviceRead));                  // loop0
  EXPECT_FALSE(p.allows('c', 10, 237, kDeviceMknod));              // loop-control
  EXPECT_FALSE(p.allows('c', 4, 64, kDeviceWrite));                // ttyS0
  EXPECT_FALSE(p.allows('c', 5, 1, kDeviceRead));                  // the host console
  EXPECT_FALSE(p.allows('b', 1, 3, kDeviceRead));                  // the type counts
  EXPECT_EQ(p.v1Lines().front(), "c 1:3 rwm");
  EXPECT_EQ(p.v1Lines().back(), "c 136:* rwm");
}

TEST(DevicePolicy, RulesApplyInOrder) {
  DevicePolicy p;
  p.add(rule(false, "a", -1, -1));  // OCI configs open with a deny-all: nothing to take
  p.add(rule(true, "c", 10, -1, "rw"));
  p.add(rule(false, "c", 10, -1, "w"));  // covers the entry: takes its w
  EXPECT_TRUE(p.allows('c', 10, 200, kDeviceRead));
  EXPECT_FALSE(p.allows('c', 10, 200, kDeviceWrite));
  EXPECT_FALSE(p.allows('c', 10, 200, kDeviceMknod));
  p.add(rule(true, "a", 8, 0, "r"));  // 'a' is both types
  EXPECT_TRUE(p.allows('b', 8, 0, kDeviceRead));
  EXPECT_TRUE(p.allows('c', 8, 0, kDeviceRead));
  p.add(rule(false, "a", -1, -1));
  EXPECT_TRUE(p.entries().empty());
  // A deny inside a broader allow has no v1 form: refused, not approximated.
  p.add(rule(true, "c", 10, -1));
  EXPECT_THROW(p.add(rule(false, "c", 10, 200)), Error);
  // Access requested together must be allowed by one entry, as both kernels check it.
  DevicePolicy split;
  split.add(rule(true, "c", 1, 3, "r"));
  split.add(rule(true, "c", 1, -1, "w"));
  EXPECT_FALSE(split.allows('c', 1, 3, kDeviceRead | kDeviceWrite));
  EXPECT_TRUE(split.allows('c', 1, 3, kDeviceRead));
}

TEST(DevicePolicy, RefusesInvalidRules) {
  EXPECT_THROW(rule(true, "x", 1, 3), Error);
  EXPECT_THROW(rule(true, "c", -2, 3), Error);
  EXPECT_THROW(rule(true, "c", 1, int64_t{1} << 32), Error);
  EXPECT_THROW(rule(true, "c", 1, 3, "rx"), Error);
  DevicePolicy p;
  p.add(rule(true, "c", 1, 3, ""));  // OCI: no access given is all of it
  EXPECT_TRUE(p.allows('c', 1, 3, kDeviceAll));
}

TEST(DevicePolicy, MergeIsTheUnion) {
  DevicePolicy a = DevicePolicy::defaults();
  DevicePolicy b;
  b.add(rule(true, "c", 10, 229));  // /dev/fuse for one app
  a.merge(b);
  EXPECT_TRUE(a.allows('c', 10, 229, kDeviceAll));
  EXPECT_TRUE(a.allows('c', 1, 3, kDeviceAll));
  size_t before = a.entries().size();
  a.merge(b);
  EXPECT_EQ(a.entries().size(), before);
}

// Runs a device program the way the kernel would, for the instructions deviceProgram() may
// emit; anything else fails the test.
int runProgram(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
               unsigned access) {
  constexpr uint64_t kCtx = 0x10000;
  uint32_t ctx[3] = {(access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
                     major, minor};
  uint64_t r[11] = {};
  r[1] = kCtx;
  size_t pc = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    if (pc >= prog.size()) {
      ADD_FAILURE() << "the program runs off its end";
      return -1;
    }
    const bpf_insn& i = prog[pc++];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        uint64_t at = r[i.src_reg] + static_cast<int64_t>(i.off);
        if (at < kCtx || at > kCtx + 8 || (at - kCtx) % 4 != 0) {
          ADD_FAILURE() << "a load outside the context at " << pc - 1;
          return -1;
        }
        r[i.dst_reg] = ctx[(at - kCtx) / 4];
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
        r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & static_cast<uint32_t>(i.imm));
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        r[i.dst_reg] = static_cast<uint32_t>(r[i.src_reg]);
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        r[i.dst_reg] = static_cast<uint32_t>(i.imm);
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(r[0]);
      default:
        ADD_FAILURE() << "unexpected instruction code " << int(i.code) << " at " << pc - 1;
        return -1;
    }
  }
  ADD_FAILURE() << "the program does not end";
  return -1;
}

void expectProgramMatchesPolicy(const DevicePolicy& p) {
  std::vector<bpf_insn> prog = deviceProgram(p);
  for (char type : {'c', 'b'}) {
    for (uint32_t major : {0u, 1u, 4u, 5u, 7u, 10u, 136u, 4095u}) {
      for (uint32_t minor : {0u, 1u, 2u, 3u, 5u, 9u, 64u, 200u, 229u, 237u, 1048575u}) {
        for (unsigned access = 1; access <= kDeviceAll; ++access) {
          int want = p.allows(type, major, minor, access) ? 1 : 0;
          ASSERT_EQ(runProgram(prog, type, major, minor, access), want)
              << type << " " << major << ":" << minor << " access " << access;
        }
      }
    }
  }
}

TEST(DeviceProgram, AnswersAsThePolicy) {
  expectProgramMatchesPolicy(DevicePolicy());
  expectProgramMatchesPolicy(DevicePolicy::defaults());
  DevicePolicy p = DevicePolicy::defaults();
  p.add(rule(true, "b", 7, -1, "r"));
  p.add(rule(true, "c", -1, 64, "w"));
  p.add(rule(true, "b", -1, -1, "m"));
  p.add(rule(true, "c", 10, 229, "rm"));
  expectProgramMatchesPolicy(p);
  DevicePolicy all;
  all.add(rule(true, "a", -1, -1));
  expectProgramMatchesPolicy(all);
}

// --- on real cgroups

std::string uniqueName() {
  std::random_device rd;
  return "ferry-devtest-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

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

// In a child moved into g: mknod of b 7:0 in a fresh directory, then an open of /dev/null.
// Returns (errno of the mknod or 0, errno of the open or 0).
std::pair<int, int> tryDevicesIn(const Group& g, const fs::path& scratch) {
  int report[2];
  if (::pipe(report) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    int out[2] = {0, 0};
    auto files = g.procsFiles();
    std::vector<const char*> ptrs;
    for (const auto& f : files) ptrs.push_back(f.c_str());
    size_t failed = 0;
    if (joinProcs(ptrs.data(), ptrs.size(), &failed) != 0) ::_exit(100);
    std::string node = (scratch / "loop0").string();
    out[0] = ::mknod(node.c_str(), S_IFBLK | 0600, makedev(7, 0)) == 0 ? 0 : errno;
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    out[1] = fd >= 0 ? 0 : errno;
    if (::write(report[1], out, sizeof out) != sizeof out) ::_exit(101);
    ::_exit(0);
  }
  ::close(report[1]);
  int got[2] = {-1, -1};
  EXPECT_EQ(::read(report[0], got, sizeof got), static_cast<ssize_t>(sizeof got));
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not run";
  std::error_code ec;
  fs::remove(scratch / "loop0", ec);
  return {got[0], got[1]};
}

std::vector<Member> membersWhere(const Group& g, bool (*pick)(const Member&)) {
  std::vector<Member> out;
  for (const Member& m : g.members()) {
    if (pick(m)) out.push_back(m);
  }
  return out;
}

bool isV2(const Member& m) { return m.version == Version::kV2; }
bool isV1Devices(const Member& m) { return fs::exists(m.dir / "devices.list"); }

// The device programs attached to dir itself (BPF_PROG_QUERY without BPF_F_QUERY_EFFECTIVE:
// not its ancestors').
uint32_t attachedPrograms(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + dir.string());
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  long rc = ::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("BPF_PROG_QUERY " + dir.string());
  return attr.query.prog_cnt;
}

class DeviceCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    scratch_ = fs::temp_directory_path() / uniqueName();
    fs::create_directories(scratch_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  // Each interface alone: the policy on the picked members only, a child in the whole group.
  // False when the host has no such member.
  bool expectConfinedBy(bool (*pick)(const Member&), const char* what) {
    TestGroup g;
    auto picked = membersWhere(*g, pick);
    if (picked.empty()) return false;
    auto [before, nullBefore] = tryDevicesIn(*g, scratch_);
    EXPECT_EQ(before, 0) << "mknod b 7:0 should work without rules (root, CAP_MKNOD)";
    EXPECT_THROW(requireDeviceRules(*g), Error);
    applyDevicePolicy(Group(picked), DevicePolicy::defaults());
    auto [mknodErr, nullErr] = tryDevicesIn(*g, scratch_);
    EXPECT_EQ(mknodErr, EPERM) << what << ": mknod b 7:0 was not refused";
    EXPECT_EQ(nullErr, 0) << what << ": /dev/null could not be opened";
    // A child cgroup made afterwards is held too (v1 copies the list, v2 inherits the program).
    Group child = g->createChild("app-x");
    auto [childErr, childNull] = tryDevicesIn(child, scratch_);
    EXPECT_EQ(childErr, EPERM) << what << ": a child cgroup escapes the rules";
    EXPECT_EQ(childNull, 0);
    return true;
  }
  fs::path scratch_;
};

// A hybrid host has both interfaces (the kernel checks both), a pure v2 host the program only.
TEST_F(DeviceCgroup, EachInterfaceAloneConfines) {
  bool v2 = expectConfinedBy(isV2, "cgroup2 hierarchy");
  bool v1 = expectConfinedBy(isV1Devices, "v1 devices hierarchy");
  EXPECT_TRUE(v1 || v2) << "no hierarchy can carry device rules here";
}

TEST_F(DeviceCgroup, RequireDeviceRulesOnceApplied) {
  TestGroup g;
  applyDevicePolicy(*g, DevicePolicy::defaults());
  EXPECT_NO_THROW(requireDeviceRules(*g));
  // A record without one of the hierarchies: a process joining it stays unconfined there.
  std::vector<Member> fewer = membersWhere(*g, [](const Member& m) { return !isV2(m); });
  if (fewer.size() != g->members().size()) {
    EXPECT_THROW(requireDeviceRules(Group(fewer)), Error);
  }
}

// Where the group has a v1 devices member (a hybrid host), the rules go there alone: its cgroup2
// members get no program (the kernel checks the v1 list anyway; attaching the host's first
// device program costs a text patch on every CPU). Without one, every cgroup2 member gets it.
TEST_F(DeviceCgroup, ProgramOnlyWithoutV1Devices) {
  TestGroup g;
  auto v1 = membersWhere(*g, isV1Devices);
  auto v2 = membersWhere(*g, isV2);
  if (v2.empty()) GTEST_SKIP() << "no cgroup2 hierarchy here";
  applyDevicePolicy(*g, DevicePolicy::defaults());
  for (const Member& m : v2) {
    EXPECT_EQ(attachedPrograms(m.dir), v1.empty() ? 1u : 0u) << m.dir;
  }
  for (const Member& m : v1) {
    std::ifstream in(m.dir / "devices.list");
    std::string list((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(list.find("a *:* rwm"), std::string::npos) << m.dir << ": " << list;
    EXPECT_NE(list.find("c 1:3 rwm"), std::string::npos) << m.dir << ": " << list;
  }
  // Confined all the same, and enter's check takes it.
  auto [mknodErr, nullErr] = tryDevicesIn(g->createChild("app-x"), scratch_);
  EXPECT_EQ(mknodErr, EPERM);
  EXPECT_EQ(nullErr, 0);
  EXPECT_NO_THROW(requireDeviceRules(*g));
  // A group of the cgroup2 members alone gets the program.
  TestGroup h;
  applyDevicePolicy(Group(membersWhere(*h, isV2)), DevicePolicy::defaults());
  for (const Member& m : membersWhere(*h, isV2)) EXPECT_EQ(attachedPrograms(m.dir), 1u) << m.dir;
}

// enter's check on a group without rules: its v1 devices member (a hybrid host) or, on a pure v2
// host, its cgroup2 member without a program is named.
TEST_F(DeviceCgroup, RequireDeviceRulesNamesAnUnconfinedMember) {
  TestGroup g;
  try {
    requireDeviceRules(*g);
    FAIL() << "a group without rules passed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kSecurity);
    EXPECT_NE(std::string(e.what()).find("cannot confine devices: cgroup"), std::string::npos)
        << e.what();
  }
}

TEST(DeviceCgroupErrors, NoHierarchyToCarryTheRules) {
  Member m{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu/x", Version::kV1, "cpu"};
  try {
    applyDevicePolicy(Group({m}), DevicePolicy::defaults());
    FAIL() << "applied to nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
  }
}

// --- a pod's recorded cgroup paths

TEST(CgroupRecord, NormalisesBeforeChecking) {
  using Dirs = std::vector<std::pair<std::string, std::string>>;
  Layout layout = Layout::detect();
  if (layout.hierarchies().empty()) GTEST_SKIP() << "no cgroup hierarchy";
  const std::string mount = layout.hierarchies().front().mount.string();
  const std::string up = fs::path(mount).parent_path().string();
  // "<mount>/.." is the hierarchy's parent: it once passed as below the mount.
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount + "/.."}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount + "/x/../.."}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount + "/../other/ferry-u"}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount + "/..", up + "/other/ferry-u"}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount + "/"}}), Error);
  EXPECT_THROW(Group::fromDirs(Dirs{{mount.substr(1), mount.substr(1) + "/x"}}), Error);
  // The pod's own name, when given.
  EXPECT_THROW(Group::fromDirs(Dirs{{mount, mount + "/ferry-v"}}, "ferry-u"), Error);
  Group g = Group::fromDirs(Dirs{{mount + "/", mount + "/a/../ferry-u/"}}, "ferry-u");
  ASSERT_EQ(g.members().size(), 1u);
  EXPECT_EQ(g.members()[0].dir, fs::path(mount) / "ferry-u");
  EXPECT_EQ(g.members()[0].mount, fs::path(mount));
}

TEST(CgroupRecord, ResolvesAgainstTheRealMounts) {
  using Dirs = std::vector<std::pair<std::string, std::string>>;
  Layout layout = Layout::detect();
  if (layout.hierarchies().empty()) GTEST_SKIP() << "no cgroup hierarchy";
  const Hierarchy& h = layout.hierarchies().front();
  std::string dir = (h.own / "ferry-u").string();
  EXPECT_NO_THROW(Group::fromRecord(Dirs{{h.mount.string(), dir}}, "ferry-u"));
  // A directory that is no cgroup mount, named like one.
  fs::path fake = fs::temp_directory_path() / uniqueName();
  EXPECT_THROW(Group::fromRecord(Dirs{{fake.string(), (fake / "ferry-u").string()}}, "ferry-u"),
               Error);
  // A mount point that is a cgroup mount's parent.
  EXPECT_THROW(Group::fromRecord(Dirs{{h.mount.parent_path().string(),
                                       (h.mount.parent_path() / "ferry-u").string()}},
                                 "ferry-u"),
               Error);
}

}  // namespace
}  // namespace ferry::cgroup
