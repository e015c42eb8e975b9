#include <linux/capability.h>

#include <gtest/gtest.h>

#include "common/capabilities.hpp"
#include "common/error.hpp"
#include "stage2/capability_sets.hpp"

namespace ferry::stage2 {
namespace {

TEST(CapabilitySets, NamesMapToKernelNumbers) {
  // The shared table (common/capabilities.hpp) against the kernel's own header.
  EXPECT_EQ(linuxCapabilityNumber("CAP_CHOWN"), CAP_CHOWN);
  EXPECT_EQ(linuxCapabilityNumber("CAP_NET_RAW"), CAP_NET_RAW);
  EXPECT_EQ(linuxCapabilityNumber("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(linuxCapabilityNumber("CAP_SYS_RESOURCE"), CAP_SYS_RESOURCE);
  EXPECT_EQ(linuxCapabilityNumber("CAP_AUDIT_READ"), CAP_AUDIT_READ);
  EXPECT_EQ(linuxCapabilityNumber("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
  EXPECT_EQ(linuxCapabilityNames().size(), size_t{CAP_LAST_CAP} + 1);
}

TEST(CapabilitySets, FromRuntimeSpec) {
  oci::Capabilities c;
  c.bounding = std::vector<std::string>{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  c.effective = std::vector<std::string>{"CAP_KILL"};
  c.permitted = std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"};
  c.ambient = std::vector<std::string>{};
  CapabilitySets s = capabilitySetsFrom(c);
  EXPECT_EQ(s.bounding, capBit(CAP_CHOWN) | capBit(CAP_KILL) | capBit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(s.effective, capBit(CAP_KILL));
  EXPECT_EQ(s.permitted, capBit(CAP_KILL) | capBit(CAP_CHOWN));
  EXPECT_EQ(s.inheritable, 0u);  // absent
  EXPECT_EQ(s.ambient, 0u);      // present and empty
  EXPECT_EQ(capabilityNames(s.bounding), "CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE");
}

TEST(CapabilitySets, UnknownNameIsAnErrorWithItsPath) {
  oci::Capabilities c;
  c.effective = std::vector<std::string>{"CAP_KILL", "CAP_FLY"};
  try {
    capabilitySetsFrom(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "process.capabilities.effective[1]: unknown capability \"CAP_FLY\"");
  }
}

TEST(CapabilitySets, CurrentSetsAreReadable) {
  CapabilitySets now = currentCapabilities();
  // Whatever runs the test, the permitted set holds the effective one.
  EXPECT_EQ(now.effective & ~now.permitted, 0u);
  EXPECT_GE(lastCapability(), CAP_AUDIT_READ);
}

}  // namespace
}  // namespace ferry::stage2
