// The pod boundary's policy (formats/translate/privileges.hpp, formats/oci/sysctl.hpp): what an
// image may ask by itself, what needs the operator, what nobody may have.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "formats/oci/sysctl.hpp"
#include "formats/translate/app_runtime.hpp"
#include "formats/translate/privileges.hpp"

namespace ferry::translate {
namespace {

appc::Isolator iso(const std::string& text) {
  return appc::Isolator::fromJson(json::parse(text, "isolator"), "isolator");
}

// The message of the kSecurity error `fn` throws ("" when it throws none).
template <typename Fn>
std::string refusal(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kSecurity) << e.what();
    return e.what();
  }
  return "";
}

TEST(Sysctl, OnlyNamespacedKeys) {
  EXPECT_EQ(oci::sysctlNamespace("kernel.shmmax"), "ipc");
  EXPECT_EQ(oci::sysctlNamespace("kernel.shm_rmid_forced"), "ipc");
  EXPECT_EQ(oci::sysctlNamespace("kernel.sem"), "ipc");
  EXPECT_EQ(oci::sysctlNamespace("fs.mqueue.msg_max"), "ipc");
  EXPECT_EQ(oci::sysctlNamespace("kernel.hostname"), "uts");
  EXPECT_EQ(oci::sysctlNamespace("kernel.domainname"), "uts");
  EXPECT_EQ(oci::sysctlNamespace("net.ipv4.ip_forward"), "network");
  for (const char* host :
       {"kernel.core_pattern", "kernel.printk_ratelimit_burst", "kernel.modprobe",
        "vm.overcommit_memory", "fs.file-max", "kernel.shmmax2", "kernel.msg", "fs.mqueue",
        "fs.mqueue.", "net", "net.", "net..ipv4", "net/ipv4/ip_forward", ".net.x", ""}) {
    EXPECT_FALSE(oci::sysctlNamespace(host)) << host;
  }
}

TEST(Sysctl, CheckRefusesHostKeysAndNetWithHostNetwork) {
  EXPECT_EQ(refusal([] {
              checkSysctls({{"kernel.shmmax", "1"}, {"net.core.somaxconn", "9"}}, false, "a");
            }),
            "");
  EXPECT_NE(refusal([] {
              checkSysctls({{"kernel.core_pattern", "|/x"}}, false, "a");
            }).find("cannot set sysctl kernel.core_pattern: it is not namespaced"),
            std::string::npos);
  EXPECT_NE(refusal([] {
              checkSysctls({{"net.ipv4.ip_forward", "1"}}, true, "a");
            }).find("with --net=host"),
            std::string::npos);
  EXPECT_EQ(refusal([] { checkSysctls({{"kernel.shmmax", "1"}}, true, "a"); }), "");
}

TEST(ImageIsolators, CapabilitiesBeyondTheDefaultsNeedTheOperator) {
  appc::Isolators within = {iso(
      R"({"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN","CAP_KILL"]}})")};
  EXPECT_EQ(refusal([&] { checkImageIsolators(within, {}, "a"); }), "");
  appc::Isolators remove = {iso(
      R"({"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_SYS_ADMIN","CAP_CHOWN"]}})")};
  EXPECT_EQ(refusal([&] { checkImageIsolators(remove, {}, "a"); }), "");
  appc::Isolators beyond = {iso(
      R"({"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_SYS_PTRACE"]}})")};
  std::string msg = refusal([&] { checkImageIsolators(beyond, {}, "web"); });
  EXPECT_NE(msg.find("app \"web\": the image asks for CAP_SYS_ADMIN,CAP_SYS_PTRACE"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--caps-retain"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--insecure-options=capabilities"), std::string::npos) << msg;
  EXPECT_EQ(refusal([&] { checkImageIsolators(beyond, {{}, true}, "web"); }), "");
}

TEST(ImageIsolators, SysctlsNeedTheOperator) {
  appc::Isolators image = {
      iso(R"({"name":"os/unix/sysctl","value":{"net.ipv4.ip_forward":"1","kernel.shmmax":"9"}})")};
  std::string msg = refusal([&] { checkImageIsolators(image, {}, "a"); });
  EXPECT_NE(msg.find("the image sets sysctl net.ipv4.ip_forward=1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--sysctl net.ipv4.ip_forward"), std::string::npos) << msg;
  EXPECT_NE(refusal([&] {
              checkImageIsolators(image, {{"net.ipv4.ip_forward"}}, "a");
            }).find("kernel.shmmax=9"),
            std::string::npos);
  EXPECT_EQ(refusal([&] {
              checkImageIsolators(image, {{"net.ipv4.ip_forward", "kernel.shmmax"}}, "a");
            }),
            "");
  EXPECT_EQ(refusal([&] { checkImageIsolators(image, {{"net.*", "kernel.shm*"}}, "a"); }), "");
  EXPECT_NE(refusal([&] {
              checkImageIsolators(image, {{"net.ipv6.*", "kernel.shmmax"}}, "a");
            }),
            "");
}

TEST(NoNewPrivs, ForcedForNonRootApps) {
  EXPECT_TRUE(isRootUser("0"));
  EXPECT_TRUE(isRootUser("root"));
  EXPECT_FALSE(isRootUser("1000"));
  EXPECT_FALSE(isRootUser("00"));
  EXPECT_FALSE(isRootUser("daemon"));
  EXPECT_FALSE(isRootUser("/bin/app"));
  EXPECT_EQ(parseNoNewPrivs("non-root"), NoNewPrivs::kNonRoot);
  EXPECT_EQ(parseNoNewPrivs("all"), NoNewPrivs::kAll);
  EXPECT_EQ(parseNoNewPrivs("isolator"), NoNewPrivs::kIsolator);
  EXPECT_FALSE(parseNoNewPrivs("off"));

  auto nnp = [](const std::string& user, NoNewPrivs policy, std::optional<bool> isolator) {
    appc::RuntimeApp ra = appc::RuntimeApp::fromJson(
        json::parse(R"({"name":"a","image":{"id":"sha512-)" + std::string(127, '0') +
                        R"(1"},"app":{"exec":["/x"],"user":")" + user + R"(","group":"0"}})",
                    "app"),
        "app");
    if (isolator)
      ra.app->isolators.push_back(appc::Isolator{appc::LinuxNoNewPrivileges{*isolator}});
    AppRuntimeInput in{.app = ra};
    in.noNewPrivs = policy;
    Report r;
    return appToRuntime(in, r).process->noNewPrivileges.value_or(false);
  };
  EXPECT_TRUE(nnp("1000", NoNewPrivs::kNonRoot, std::nullopt));
  EXPECT_TRUE(nnp("app", NoNewPrivs::kNonRoot, false));
  EXPECT_FALSE(nnp("0", NoNewPrivs::kNonRoot, std::nullopt));
  EXPECT_TRUE(nnp("0", NoNewPrivs::kNonRoot, true));
  EXPECT_TRUE(nnp("0", NoNewPrivs::kAll, std::nullopt));
  EXPECT_FALSE(nnp("1000", NoNewPrivs::kIsolator, std::nullopt));
  EXPECT_TRUE(nnp("1000", NoNewPrivs::kIsolator, true));
}

TEST(MaskedPaths, CoverTheKnownLeaks) {
  const auto& masked = defaultMaskedPaths();
  for (const char* p : {"/proc/interrupts", "/proc/config.gz", "/sys/devices/virtual/powercap",
                        "/proc/kcore", "/proc/keys", "/proc/sched_debug", "/proc/timer_list",
                        "/sys/firmware", "/proc/acpi", "/proc/scsi"}) {
    EXPECT_NE(std::find(masked.begin(), masked.end(), p), masked.end()) << p;
  }
  const auto& ro = defaultReadonlyPaths();
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sys"), ro.end());
  EXPECT_NE(std::find(ro.begin(), ro.end(), "/proc/sysrq-trigger"), ro.end());
}

}  // namespace
}  // namespace ferry::translate
