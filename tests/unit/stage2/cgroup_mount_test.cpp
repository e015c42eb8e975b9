#include "stage2/cgroup_mount.hpp"

#include <gtest/gtest.h>

namespace ferry::stage2 {
namespace {

// This machine's kind: v1 controllers, a named systemd hierarchy and cgroup2 beside them.
constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n4:memory:/app-web\n2:cpu,cpuacct:/app-web\n6:freezer:/\n0::/\n";

std::string mountinfo(const std::string& lines) {
  return "22 1 0:21 / /sys rw - sysfs sysfs rw\n" + lines;
}

TEST(CgroupMountTest, MountsTheHierarchiesTheNamespaceHas) {
  std::string mi = mountinfo(
      "31 30 0:28 /../.. /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:31 /../.. /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd ro - cgroup cgroup rw,xattr,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified ro - cgroup2 cgroup2 rw,nsdelegate\n");
  std::vector<CgroupLine> got = mountedHierarchies(kHybridCgroup, mi);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].controllers, "name=systemd");
  EXPECT_EQ(got[1].controllers, "memory");
  EXPECT_EQ(got[1].path, "/app-web");
  EXPECT_EQ(got[2].controllers, "cpu,cpuacct");
  EXPECT_EQ(got[3].id, 0);
  EXPECT_EQ(got[3].controllers, "");
}

// A hierarchy the process is in but that no mount of this namespace holds (the pod has no
// cgroup there) is never mounted: it could show the host's.
TEST(CgroupMountTest, SkipsWhatIsNotMounted) {
  std::string mi = mountinfo(
      "34 30 0:31 / /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n");
  std::vector<CgroupLine> got = mountedHierarchies(kHybridCgroup, mi);
  ASSERT_EQ(got.size(), 1u);  // "cpu" alone is not the "cpu,cpuacct" hierarchy
  EXPECT_EQ(got[0].controllers, "memory");
  EXPECT_TRUE(mountedHierarchies(kHybridCgroup, mountinfo("")).empty());
}

TEST(CgroupMountTest, PureV2) {
  std::string mi = mountinfo("30 22 0:27 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
  std::vector<CgroupLine> got = mountedHierarchies("0::/app-web\n", mi);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/app-web");
  // A cgroup2 mount is not a v1 hierarchy's, and the reverse.
  EXPECT_TRUE(mountedHierarchies("4:memory:/\n", mi).empty());
  EXPECT_TRUE(
      mountedHierarchies("0::/\n", mountinfo("34 30 0:31 / /m ro - cgroup cgroup rw,memory\n"))
          .empty());
}

}  // namespace
}  // namespace ferry::stage2
