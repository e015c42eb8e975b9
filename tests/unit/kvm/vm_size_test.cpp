// The kvm stage1's VM size (stage1/kvm/vm.hpp, ABI §4 "kvm"): RAM and vCPUs from the pod's
// limits, else its apps' when each has one, else the defaults (vCPUs: the host's).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "stage1/kvm/vm.hpp"

namespace ferry::stage1::kvm {
namespace {

namespace fs = std::filesystem;

class VmSizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferry-vmsize-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_ = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An app whose config.json has the given linux.resources (JSON, or "" for none).
  void addApp(const std::string& name, const std::string& resources) {
    fs::create_directories(dir_ / "apps" / name);
    std::ofstream(dir_ / "apps" / name / "config.json")
        << R"({"ociVersion":"1.0.2","linux":{)"
        << (resources.empty() ? "" : R"("resources":)" + resources) << "}}";
    RuntimeApp app;
    app.name = name;
    rt_.apps.push_back(app);
  }
  static std::string cpu(long quota) {
    return R"({"cpu":{"quota":)" + std::to_string(quota) + R"(,"period":100000}})";
  }

  fs::path dir_;
  int host_ = 1;
  RuntimeOptions rt_;
};

TEST_F(VmSizeTest, AnAppWithoutACpuLimitGetsEveryHostCpu) {
  addApp("a", cpu(50000));
  addApp("b", "");
  EXPECT_EQ(vmSize(dir_, rt_).cpus, host_);
}

TEST_F(VmSizeTest, AppsWithCpuLimitsGetTheirSumRoundedUp) {
  addApp("a", cpu(25000));
  addApp("b", cpu(50000));
  EXPECT_EQ(vmSize(dir_, rt_).cpus, 1);  // 0.75
  addApp("c", cpu(50000));
  EXPECT_EQ(vmSize(dir_, rt_).cpus, std::min(2, host_));  // 1.25
  addApp("d", cpu(100000000));
  EXPECT_EQ(vmSize(dir_, rt_).cpus, host_);  // never more than the host has
}

TEST_F(VmSizeTest, ThePodsCpuLimitWins) {
  addApp("a", "");
  rt_.podResources = json::Json::parse(R"({"cpu":{"quota":100000,"period":100000}})");
  EXPECT_EQ(vmSize(dir_, rt_).cpus, 1);
}

TEST_F(VmSizeTest, MemoryIsThePodsLimitElseTheAppsSumPlusTheOverhead) {
  addApp("a", R"({"memory":{"limit":67108864}})");
  addApp("b", R"({"memory":{"limit":33554432}})");
  int64_t apps = vmSize(dir_, rt_).memoryMiB;
  rt_.podResources = json::Json::parse(R"({"memory":{"limit":268435456}})");
  EXPECT_EQ(vmSize(dir_, rt_).memoryMiB - apps, 256 - 96);
}

}  // namespace
}  // namespace ferry::stage1::kvm
