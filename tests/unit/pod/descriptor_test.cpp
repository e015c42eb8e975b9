// A stage1's descriptor features against what a pod asks (stage1/ABI.md §4): the one check
// stage0 makes before a pod exists and each flavor's run makes again from the pod directory.
// The data is the descriptor's: no flavor is named here but the made-up ones.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/descriptor.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {
namespace {

namespace fs = std::filesystem;

class DescriptorFeaturesTest : public ::testing::Test {
 protected:
  TempDir tmp_{fs::temp_directory_path(), "ferry-descriptor-test-"};

  // A stage1 directory whose stage1.json has these features.
  Descriptor stage1(const std::string& features) {
    fs::path dir = tmp_.path() / ("s1-" + std::to_string(++n_));
    fs::create_directories(dir / "bin");
    for (const char* e : {"run", "gc"}) {
      writeFileAtomic(dir / "bin" / e, "#!/bin/sh\n", 0755);
    }
    writeFileAtomic(dir / "stage1.json",
                    R"({"name":"made-up","interfaceVersion":1,)"
                    R"("entrypoints":{"run":"bin/run","gc":"bin/gc"},"features":)" +
                        features + "}");
    return Descriptor::load(dir);
  }

  // The refusal's message, or "" when the pod is accepted.
  static std::string refusal(const Descriptor& d, const PodAsk& ask) {
    try {
      refuseUnsupported(d, ask);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kUnsupported);
      return e.what();
    }
    return "";
  }

  int n_ = 0;
};

PodAsk hostPod() {
  PodAsk a;
  a.net = "host";
  a.apps = 1;
  return a;
}

TEST_F(DescriptorFeaturesTest, AbsentNewFeaturesKeepWhatAnOlderDescriptorDid) {
  Descriptor d = stage1(R"({"net":["host"]})");
  PodAsk a = hostPod();
  a.hostname = true;
  a.logDriver = "journal";
  a.apps = 9;
  a.podResources = {"memory", "pids"};
  a.addApp("main", json::parse(R"({"linux":{"sysctl":{"kernel.shmmax":"1"},)"
                               R"("resources":{"memory":{"limit":1}}}})",
                               "config"));
  EXPECT_EQ(refusal(d, a), "");
}

// --ipc: "auto" is any flavor's own; private and parent only where features.ipc lists them
// (absent: neither), and runtime.json carries the mode to the flavor's own check.
TEST_F(DescriptorFeaturesTest, IpcModesOnlyWhereListed) {
  Descriptor old = stage1(R"({"net":["host"]})");
  Descriptor both = stage1(R"({"net":["host"],"ipc":["private","parent"]})");
  Descriptor host = stage1(R"({"net":["host"],"ipc":["parent"],)"
                           R"("reasons":{"ipc":"it shares the host's"}})");
  PodAsk a = hostPod();
  EXPECT_EQ(refusal(old, a), "");
  a.ipc = "parent";
  EXPECT_EQ(refusal(old, a),
            "not supported: stage1 \"made-up\" does not offer --ipc=parent (it offers "
            "--ipc=auto only)");
  EXPECT_EQ(refusal(both, a), "");
  EXPECT_EQ(refusal(host, a), "");
  a.ipc = "private";
  EXPECT_EQ(refusal(both, a), "");
  EXPECT_EQ(refusal(host, a),
            "not supported: stage1 \"made-up\" does not offer --ipc=private (it offers "
            "--ipc=parent): it shares the host's");

  RuntimeOptions rt;
  rt.uuid = "u";
  rt.net = "host";
  rt.ipc = "parent";
  rt.apps.push_back({"main", "sha512-0", "/tree", false});
  RuntimeOptions back = RuntimeOptions::fromJson(rt.toJson(), "runtime.json");
  EXPECT_EQ(back.ipc, "parent");
  EXPECT_EQ(PodAsk::of(back).ipc, "parent");
  rt.ipc = "auto";
  EXPECT_FALSE(rt.toJson().contains("ipc"));
  json::Json bad = rt.toJson();
  bad["ipc"] = "shared";
  EXPECT_THROW(RuntimeOptions::fromJson(bad, "runtime.json"), Error);
}

TEST_F(DescriptorFeaturesTest, EachRefusalNamesTheFlagOrFieldAndTheStage1) {
  Descriptor d = stage1(R"({"net":["host"],"maxApps":1,"sysctl":false,"hostname":false,)"
                        R"("logDrivers":["file"],"resources":["devices"],)"
                        R"("reasons":{"sysctl":"its namespaces are the host's"}})");
  EXPECT_EQ(refusal(d, hostPod()), "");

  PodAsk a = hostPod();
  a.net = "netns";
  a.netFlag = "--net=default";
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not offer --net=default (it offers "
            "--net=host)");
  a = hostPod();
  a.apps = 2;
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" runs at most 1 app in a pod (this one has 2)");
  a = hostPod();
  a.hostname = true;
  EXPECT_EQ(refusal(d, a), "not supported: stage1 \"made-up\" does not offer --hostname");
  a = hostPod();
  a.logDriver = "journal";
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not offer --log-driver=journal (it offers "
            "--log-driver=file)");
  a = hostPod();
  a.privateUsers = true;
  EXPECT_EQ(refusal(d, a), "not supported: stage1 \"made-up\" does not offer --private-users");
  a = hostPod();
  a.interactive = true;
  EXPECT_EQ(refusal(d, a), "not supported: stage1 \"made-up\" does not offer --interactive");
  a = hostPod();
  a.addApp("main", json::parse(R"({"linux":{"sysctl":{"kernel.shmmax":"1"}}})", "config"));
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not offer sysctls: app \"main\" sets sysctl "
            "kernel.shmmax: its namespaces are the host's");
  a = hostPod();
  a.addApp("main",
           json::parse(R"({"linux":{"resources":{"devices":[],"memory":{"limit":1}}}})", "config"));
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not apply an app's memory limit: app "
            "\"main\" sets linux.resources.memory");
  a = hostPod();
  a.podResources = {"pids"};
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not apply a pod's pids limit (isolators)");
}

// Stage1 options (runtime.json stage1Options: --stage1-opt, --kvm-accel): only those the
// descriptor declares, with one of its values (or any, for an empty list).
TEST_F(DescriptorFeaturesTest, Stage1OptionsOnlyAsDeclared) {
  Descriptor none = stage1(R"({"net":["host"]})");
  Descriptor d = stage1(R"({"net":["host"],"options":{"accel":["a","b"],"free":[]}})");
  PodAsk a = hostPod();
  a.options = {{"accel", "b"}, {"free", "anything"}};
  EXPECT_EQ(refusal(d, a), "");
  EXPECT_EQ(refusal(none, a),
            "not supported: stage1 \"made-up\" takes no option accel (--stage1-opt accel=…)");
  a.options = {{"accel", "c"}};
  EXPECT_EQ(refusal(d, a),
            "not supported: stage1 \"made-up\" does not take accel=c (it takes accel=a, "
            "accel=b)");
  a.options = {{"other", "1"}};
  EXPECT_NE(refusal(d, a).find("takes no option other"), std::string::npos);
}

// The run's own check (defence in depth): runtime.json and, where the descriptor limits what an
// app may ask, each app's config.json in the pod directory.
TEST_F(DescriptorFeaturesTest, TheRunChecksThePodDirectory) {
  Descriptor limits = stage1(R"({"net":["host"],"sysctl":false})");
  Descriptor any = stage1(R"({"net":["host"]})");
  fs::path pod = tmp_.path() / "pod";
  fs::create_directories(pod / "apps" / "main");
  writeFileAtomic(pod / "apps" / "main" / "config.json",
                  R"({"linux":{"sysctl":{"net.core.somaxconn":"5"}}})");
  RuntimeOptions rt;
  rt.uuid = "6f0c1a2b-0000-4000-8000-000000000000";
  rt.net = "host";
  rt.apps.push_back({"main", "sha512-0", "/nonexistent", false});
  EXPECT_NO_THROW(refuseUnsupported(any, rt, pod));
  try {
    refuseUnsupported(limits, rt, pod);
    FAIL() << "a sysctl on a stage1 without the feature was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "not supported: stage1 \"made-up\" does not offer sysctls: app \"main\" sets "
              "sysctl net.core.somaxconn");
  }
  rt.net = "none";
  EXPECT_THROW(refuseUnsupported(any, rt, pod), Error);
}

}  // namespace
}  // namespace ferry::stage1
