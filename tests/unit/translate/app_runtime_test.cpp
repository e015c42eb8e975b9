// Golden files for appToRuntime: tests/data/translate/app-to-runtime/<case>/input.json holds the
// reified app and its pod context; config.json and report.json the expected outputs (or
// error.txt the expected error). FERRY_UPDATE_GOLDEN=1 rewrites them; review each against
// stage1/ABI.md §3 and the appc executor rules before committing.
#include <sched.h>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "formats/translate/app_runtime.hpp"
#include "test_util.hpp"

namespace ferry::translate {
namespace {

namespace fs = std::filesystem;

AppRuntimeInput loadInput(const fs::path& dir) {
  auto text = test::readFile(dir / "input.json");
  if (!text) throw std::runtime_error("missing " + (dir / "input.json").string());
  json::Json j = json::parse(*text, "input.json");
  AppRuntimeInput in{.app = appc::RuntimeApp::fromJson(j.at("app"), "app")};
  if (j.contains("volumes")) {
    for (size_t i = 0; i < j["volumes"].size(); ++i) {
      in.volumes.push_back(appc::Volume::fromJson(j["volumes"][i], json::index("volumes", i)));
    }
  }
  if (j.contains("volumeSources")) {
    for (const auto& [k, v] : j["volumeSources"].items()) in.volumeSources[k] = v;
  }
  if (j.contains("metadataUrl")) in.metadataUrl = j["metadataUrl"];
  if (j.contains("podEnvironment")) {
    for (const auto& e : j["podEnvironment"]) in.podEnvironment.emplace_back(e[0], e[1]);
  }
  if (j.contains("hostsFile")) in.hostsFile = j["hostsFile"];
  if (j.contains("resolvConf")) in.resolvConf = j["resolvConf"];
  in.interactive = j.value("interactive", false);
  in.hostNetwork = j.value("hostNetwork", false);
  if (j.contains("noNewPrivs"))
    in.noNewPrivs = *parseNoNewPrivs(j["noNewPrivs"].get<std::string>());
  if (j.contains("insecure")) {
    const auto& o = j["insecure"];
    in.insecure = {o.value("capabilities", false), o.value("paths", false),
                   o.value("seccomp", false)};
  }
  if (j.contains("allCapabilities")) {
    for (const auto& c : j["allCapabilities"]) in.allCapabilities.push_back(c);
  }
  in.seccompArchitectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  return in;
}

void check(const fs::path& p, const std::string& actual) {
  if (test::updatingGoldens()) {
    test::writeFile(p, actual);
    return;
  }
  auto expected = test::readFile(p);
  ASSERT_TRUE(expected) << "missing golden " << p.string() << "; actual:\n" << actual;
  std::string diff = test::unifiedDiff(*expected, actual, p.string(), "actual");
  EXPECT_TRUE(diff.empty()) << diff;
}

class AppToRuntimeGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(AppToRuntimeGolden, MatchesGolden) {
  fs::path dir = test::dataDir("app-to-runtime") / GetParam();
  AppRuntimeInput in = loadInput(dir);
  Report report;
  std::optional<oci::RuntimeSpec> spec;
  std::optional<std::string> error;
  try {
    spec = appToRuntime(in, report);
  } catch (const Error& e) {
    error = e.what();
  }
  bool expectError = test::updatingGoldens() ? error.has_value() : fs::exists(dir / "error.txt");
  if (expectError) {
    ASSERT_TRUE(error) << "expected an error, got:\n" << spec->dump();
    check(dir / "error.txt", *error + "\n");
    return;
  }
  ASSERT_FALSE(error) << *error;
  check(dir / "config.json", test::pretty(spec->toJson()));
  check(dir / "report.json", test::pretty(report.toJson()));
  // What ferry writes, ferry's strict parser reads back unchanged.
  EXPECT_EQ(oci::RuntimeSpec::parse(spec->dump(), "config.json"), *spec);
}

INSTANTIATE_TEST_SUITE_P(Cases, AppToRuntimeGolden,
                         ::testing::ValuesIn(test::listCases("app-to-runtime")),
                         [](const auto& info) { return test::testName(info.param); });

TEST(AppRuntime, DefaultCapabilitiesAreTheAppcFourteen) {
  EXPECT_EQ(appcDefaultCapabilities().size(), 14u);
  for (const auto& c : appcDefaultCapabilities()) EXPECT_TRUE(oci::isCapability(c)) << c;
}

TEST(AppRuntime, DefaultSeccompFollowsCapabilities) {
  auto without = defaultSeccompRemoveSet(appcDefaultCapabilities());
  EXPECT_NE(std::find(without.begin(), without.end(), "mount"), without.end());
  EXPECT_NE(std::find(without.begin(), without.end(), "kexec_load"), without.end());
  auto caps = appcDefaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  auto with = defaultSeccompRemoveSet(caps);
  EXPECT_EQ(std::find(with.begin(), with.end(), "mount"), with.end());
  EXPECT_NE(std::find(with.begin(), with.end(), "kexec_load"), with.end());
}

TEST(AppRuntime, DefaultSeccompRefusesIoUringAndTheKernelLog) {
  auto without = defaultSeccompRemoveSet(appcDefaultCapabilities());
  for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register", "syslog",
                           "mount_setattr", "pidfd_getfd"}) {
    EXPECT_NE(std::find(without.begin(), without.end(), name), without.end()) << name;
  }
  auto caps = appcDefaultCapabilities();
  caps.insert(caps.end(), {"CAP_SYS_ADMIN", "CAP_SYSLOG", "CAP_SYS_PTRACE"});
  auto with = defaultSeccompRemoveSet(caps);
  EXPECT_NE(std::find(with.begin(), with.end(), "io_uring_setup"), with.end());
  EXPECT_EQ(std::find(with.begin(), with.end(), "syslog"), with.end());
  EXPECT_EQ(std::find(with.begin(), with.end(), "pidfd_getfd"), with.end());
}

TEST(AppRuntime, DefaultSeccompRefusesNamespacesThroughClone) {
  auto rules = defaultSeccompArgumentRules(appcDefaultCapabilities());
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].names, std::vector<std::string>{"clone"});
  EXPECT_EQ(rules[0].errnoRet, static_cast<uint32_t>(EPERM));
  bool user = false;
  for (const auto& a : rules[0].args) {
    EXPECT_EQ(a.index, 0u);
    EXPECT_EQ(a.op, "SCMP_CMP_MASKED_EQ");
    EXPECT_EQ(a.valueTwo, a.value);
    if (a.value == CLONE_NEWUSER) user = true;
  }
  EXPECT_TRUE(user);
  EXPECT_EQ(rules[1].names, std::vector<std::string>{"clone3"});
  EXPECT_EQ(rules[1].errnoRet, static_cast<uint32_t>(ENOSYS));
  auto caps = appcDefaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  EXPECT_TRUE(defaultSeccompArgumentRules(caps).empty());
}

TEST(AppRuntime, ErrnoNames) {
  EXPECT_EQ(errnoNumber("EPERM"), 1u);
  EXPECT_EQ(errnoNumber("ENOTSUP"), static_cast<uint32_t>(ENOTSUP));
  EXPECT_FALSE(errnoNumber("EFROB"));
}

}  // namespace
}  // namespace ferry::translate
