#include <seccomp.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "stage2/seccomp_filter.hpp"

namespace ferry::stage2 {
namespace {

TEST(Seccomp, Actions) {
  EXPECT_EQ(seccompAction("SCMP_ACT_ALLOW", std::nullopt, "p"), SCMP_ACT_ALLOW);
  EXPECT_EQ(seccompAction("SCMP_ACT_KILL", std::nullopt, "p"), SCMP_ACT_KILL_THREAD);
  EXPECT_EQ(seccompAction("SCMP_ACT_KILL_PROCESS", std::nullopt, "p"), SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(seccompAction("SCMP_ACT_TRAP", std::nullopt, "p"), SCMP_ACT_TRAP);
  EXPECT_EQ(seccompAction("SCMP_ACT_LOG", std::nullopt, "p"), SCMP_ACT_LOG);
  EXPECT_EQ(seccompAction("SCMP_ACT_ERRNO", std::nullopt, "p"), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(seccompAction("SCMP_ACT_ERRNO", 95, "p"), SCMP_ACT_ERRNO(95));
  EXPECT_EQ(seccompAction("SCMP_ACT_TRACE", 3, "p"), SCMP_ACT_TRACE(3));
}

TEST(Seccomp, BadActionsNameTheirPath) {
  EXPECT_THROW(seccompAction("SCMP_ACT_ALLOW", 1, "p"), Error);
  EXPECT_THROW(seccompAction("SCMP_ACT_ERRNO", 70000, "p"), Error);
  EXPECT_THROW(seccompAction("SCMP_ACT_FLY", std::nullopt, "p"), Error);
  try {
    seccompAction("SCMP_ACT_NOTIFY", std::nullopt, "linux.seccomp.syscalls[2]");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("linux.seccomp.syscalls[2]"), std::string::npos);
  }
}

TEST(Seccomp, ArchitecturesAndOperators) {
  EXPECT_EQ(seccompArch("SCMP_ARCH_X86_64", "p"), SCMP_ARCH_X86_64);
  EXPECT_EQ(seccompArch("SCMP_ARCH_X86", "p"), SCMP_ARCH_X86);
  EXPECT_EQ(seccompArch("SCMP_ARCH_X32", "p"), SCMP_ARCH_X32);
  EXPECT_EQ(seccompArch("SCMP_ARCH_AARCH64", "p"), SCMP_ARCH_AARCH64);
  EXPECT_EQ(seccompArch("SCMP_ARCH_MIPSEL64N32", "p"), SCMP_ARCH_MIPSEL64N32);
  EXPECT_EQ(seccompArch("SCMP_ARCH_PPC64LE", "p"), SCMP_ARCH_PPC64LE);
  EXPECT_EQ(seccompArch("SCMP_ARCH_S390X", "p"), SCMP_ARCH_S390X);
  EXPECT_THROW(seccompArch("SCMP_ARCH_VAX", "p"), Error);
  EXPECT_THROW(seccompArch("x86_64", "p"), Error);
  EXPECT_EQ(seccompOperator("SCMP_CMP_EQ", "p"), SCMP_CMP_EQ);
  EXPECT_EQ(seccompOperator("SCMP_CMP_MASKED_EQ", "p"), SCMP_CMP_MASKED_EQ);
  EXPECT_EQ(seccompOperator("SCMP_CMP_NE", "p"), SCMP_CMP_NE);
  EXPECT_THROW(seccompOperator("SCMP_CMP_LIKE", "p"), Error);
}

oci::SeccompSyscall rule(std::vector<std::string> names, std::string action,
                         std::optional<uint32_t> errnoRet = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errnoRet = errnoRet;
  s.args = std::move(args);
  return s;
}

// The pseudo filter code below is what libseccomp 2.5 prints for an x86_64 host.
#define REQUIRE_X86_64()                                      \
  do {                                                        \
    if (seccomp_arch_native() != SCMP_ARCH_X86_64) {          \
      GTEST_SKIP() << "the expected filter text is x86_64's"; \
    }                                                         \
  } while (0)

TEST(Seccomp, FilterHoldsTheRules) {
  REQUIRE_X86_64();
  oci::Seccomp spec;
  spec.defaultAction = "SCMP_ACT_ALLOW";
  spec.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  spec.syscalls = {
      rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", 95),
      rule({"getpid"}, "SCMP_ACT_ALLOW"),  // same as the default: skipped
      rule({"no_such_syscall_anywhere"}, "SCMP_ACT_KILL"),
      rule({"personality"}, "SCMP_ACT_ERRNO", std::nullopt,
           {{0, 0xffffffff, std::nullopt, "SCMP_CMP_NE"}}),
  };
  SeccompFilter f(spec);
  EXPECT_EQ(f.skippedSyscalls(), std::vector<std::string>{"no_such_syscall_anywhere"});
  std::string pfc = f.exportPfc();
  EXPECT_NE(pfc.find("if ($syscall == " + std::to_string(SYS_mkdir) + ")"), std::string::npos)
      << pfc;
  EXPECT_NE(pfc.find("action ERRNO(95);"), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("action ERRNO(1);"), std::string::npos) << pfc;  // default errno EPERM
  EXPECT_NE(pfc.find("if ($a0.lo32 == 4294967295)\n      else\n        action ERRNO(1);"),
            std::string::npos)
      << pfc;
  EXPECT_NE(pfc.find("# filter for arch x86 (1073741827)"), std::string::npos) << pfc;
  EXPECT_EQ(pfc.find("\"getpid\""), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("action ALLOW;"), std::string::npos) << pfc;
}

TEST(Seccomp, RepeatedArgumentIndexMeansOr) {
  REQUIRE_X86_64();
  oci::Seccomp spec;
  spec.defaultAction = "SCMP_ACT_ERRNO";
  spec.syscalls = {
      rule({"personality"}, "SCMP_ACT_ALLOW", std::nullopt,
           {{0, 0, std::nullopt, "SCMP_CMP_EQ"}, {0, 8, std::nullopt, "SCMP_CMP_EQ"}})};
  std::string pfc = SeccompFilter(spec).exportPfc();
  EXPECT_NE(pfc.find("if ($a0.lo32 == 0)\n        action ALLOW;"), std::string::npos) << pfc;
  EXPECT_NE(pfc.find("if ($a0.lo32 == 8)\n        action ALLOW;"), std::string::npos) << pfc;
}

TEST(Seccomp, BadRuleNamesItsPath) {
  oci::Seccomp spec;
  spec.defaultAction = "SCMP_ACT_ALLOW";
  spec.syscalls = {rule({"mkdir"}, "SCMP_ACT_ERRNO"), rule({"rmdir"}, "SCMP_ACT_KILL", 3)};
  try {
    SeccompFilter f(spec);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linux.seccomp.syscalls[1]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ferry::stage2
