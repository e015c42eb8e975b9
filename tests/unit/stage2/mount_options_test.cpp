#include <sys/mount.h>

#include <gtest/gtest.h>

#include "stage2/mount_options.hpp"

namespace ferry::stage2 {
namespace {

TEST(MountOptions, FlagsPropagationAndData) {
  MountOptions o = parseMountOptions(
      {"nosuid", "strictatime", "mode=755", "size=65536k", "ro", "rprivate", "noexec"});
  EXPECT_EQ(o.flags, MS_NOSUID | MS_STRICTATIME | MS_RDONLY | MS_NOEXEC);
  EXPECT_FALSE(o.bind);
  EXPECT_EQ(o.propagation, std::vector<unsigned long>{MS_PRIVATE | MS_REC});
  EXPECT_EQ(o.data, "mode=755,size=65536k");
}

TEST(MountOptions, LaterOptionsWin) {
  EXPECT_EQ(parseMountOptions({"ro", "rw"}).flags, 0u);
  EXPECT_EQ(parseMountOptions({"nodev", "dev", "nosuid"}).flags,
            static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(parseMountOptions({"defaults"}), MountOptions{});
}

TEST(MountOptions, Binds) {
  MountOptions o = parseMountOptions({"rbind", "ro"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
  o = parseMountOptions({"bind", "slave"});
  EXPECT_TRUE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_EQ(o.propagation, std::vector<unsigned long>{MS_SLAVE});
}

TEST(MountOptions, DevptsOptionsAreData) {
  MountOptions o =
      parseMountOptions({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  EXPECT_EQ(o.flags, MS_NOSUID | MS_NOEXEC);
  EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

}  // namespace
}  // namespace ferry::stage2
