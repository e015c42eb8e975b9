#include <gtest/gtest.h>

#include "formats/oci/runtime_spec.hpp"
#include "test_util.hpp"

namespace ferry::oci {
namespace {

using namespace test;
using json::Json;

TEST(RuntimeSpec, FullConfigRoundTrips) {
  std::string text = readData("runtime-config.json");
  RuntimeSpec s = RuntimeSpec::parse(text, "config.json");
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->user.uid, 1u);
  EXPECT_EQ(s.process->user.umask, 18u);
  EXPECT_EQ(s.process->user.additionalGids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.process->capabilities->inheritable, std::vector<std::string>{});
  EXPECT_EQ(s.process->rlimits[1].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->oomScoreAdj, 100);
  ASSERT_TRUE(s.root);
  EXPECT_EQ(s.root->readonly, true);
  EXPECT_EQ(s.mounts.size(), 3u);
  EXPECT_EQ(s.mounts[2].uidMappings[0].hostID, 1000u);
  ASSERT_TRUE(s.hooks);
  EXPECT_EQ(s.hooks->poststart[0].timeout, 5);
  ASSERT_TRUE(s.linuxConfig);
  const Linux& l = *s.linuxConfig;
  EXPECT_EQ(l.namespaces.size(), 7u);
  EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/neta");
  EXPECT_EQ(l.devices[1].type, "p");
  EXPECT_EQ(l.resources->memory->limit, 536870912);
  EXPECT_EQ(l.resources->cpu->cpus, "2-3");
  EXPECT_EQ(l.resources->pids->limit, 32771);
  EXPECT_TRUE(l.resources->hugepageLimits);
  EXPECT_EQ(l.seccomp->syscalls[1].args[1].valueTwo, 8u);
  EXPECT_EQ(l.seccomp->syscalls[2].errnoRet, 38u);
  EXPECT_EQ(l.sysctl.at("net.core.somaxconn"), "256");
  EXPECT_EQ(unordered(s.toJson()), unordered(json::parse(text, "x")));
  EXPECT_EQ(RuntimeSpec::parse(s.dump(), "again"), s);
}

TEST(RuntimeSpec, MinimalConfigIsWrittenInSpecOrder) {
  RuntimeSpec s;
  s.process.emplace();
  s.process->args = {"/bin/true"};
  s.root = Root{"rootfs", true};
  s.linuxConfig.emplace();
  s.linuxConfig->namespaces = {{"pid", std::nullopt}, {"mount", std::nullopt}};
  EXPECT_EQ(json::dump(s.toJson()),
            R"({"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["/bin/true"],)"
            R"("cwd":"/"},"root":{"path":"rootfs","readonly":true},"linux":{"namespaces":)"
            R"([{"type":"pid"},{"type":"mount"}]}})");
  EXPECT_EQ(RuntimeSpec::parse(s.dump(), "s"), s);
}

struct BadCase {
  const char* name;
  void (*edit)(Json&);
  const char* error;
};

TEST(RuntimeSpec, MalformedFieldsNameTheirPath) {
  const BadCase cases[] = {
      {"unknown top", [](Json& j) { j["hostnme"] = "x"; }, "hostnme: unknown field"},
      {"unknown nested", [](Json& j) { j["linux"]["resources"]["memory"]["limt"] = 1; },
       "linux.resources.memory.limt: unknown field"},
      {"version", [](Json& j) { j["ociVersion"] = "2.0.0"; },
       "ociVersion: not supported: version \"2.0.0\""},
      {"no args", [](Json& j) { j["process"]["args"] = Json::array(); },
       "process.args: must have at least one entry"},
      {"cwd", [](Json& j) { j["process"]["cwd"] = "home"; },
       "process.cwd: must be an absolute path"},
      {"env", [](Json& j) { j["process"]["env"][1] = "TERM"; },
       "process.env[1]: must be NAME=value"},
      {"uid", [](Json& j) { j["process"]["user"]["uid"] = 4294967296; },
       "process.user.uid: must be at most 4294967295"},
      {"capability", [](Json& j) { j["process"]["capabilities"]["ambient"][0] = "CAP_FOO"; },
       "process.capabilities.ambient[0]: unknown capability \"CAP_FOO\""},
      {"rlimit", [](Json& j) { j["process"]["rlimits"][0]["type"] = "RLIMIT_BOGUS"; },
       "process.rlimits[0].type: unknown rlimit \"RLIMIT_BOGUS\""},
      {"rlimit dup", [](Json& j) { j["process"]["rlimits"][1]["type"] = "RLIMIT_CORE"; },
       "process.rlimits[1].type: duplicate \"RLIMIT_CORE\""},
      {"rlimit soft", [](Json& j) { j["process"]["rlimits"][0]["soft"] = 2048; },
       "process.rlimits[0].soft: must not exceed hard"},
      {"oom", [](Json& j) { j["process"]["oomScoreAdj"] = 1001; },
       "process.oomScoreAdj: must be between -1000 and 1000"},
      {"mount", [](Json& j) { j["mounts"][1].erase("destination"); },
       "mounts[1].destination: required field is missing"},
      {"hook path", [](Json& j) { j["hooks"]["poststop"][0]["path"] = "cleanup.sh"; },
       "hooks.poststop[0].path: must be an absolute path"},
      {"hook timeout", [](Json& j) { j["hooks"]["poststart"][0]["timeout"] = 0; },
       "hooks.poststart[0].timeout: must be between 1 and 9223372036854775807"},
      {"hook kind", [](Json& j) { j["hooks"]["prestop"] = Json::array(); },
       "hooks.prestop: unknown field"},
      {"namespace", [](Json& j) { j["linux"]["namespaces"][3]["type"] = "net"; },
       "linux.namespaces[3].type: unknown namespace type \"net\""},
      {"namespace dup", [](Json& j) { j["linux"]["namespaces"][4]["type"] = "pid"; },
       "linux.namespaces[4].type: duplicate \"pid\""},
      {"device type", [](Json& j) { j["linux"]["devices"][0]["type"] = "x"; },
       "linux.devices[0].type: unknown device type \"x\": want c, b, u or p"},
      {"device major", [](Json& j) { j["linux"]["devices"][0].erase("major"); },
       "linux.devices[0].major: required field is missing for device type \"c\""},
      {"cgroup access", [](Json& j) { j["linux"]["resources"]["devices"][1]["access"] = "rx"; },
       "linux.resources.devices[1].access: must be made of r, w and m"},
      {"swappiness", [](Json& j) { j["linux"]["resources"]["memory"]["swappiness"] = 101; },
       "linux.resources.memory.swappiness: must be at most 100"},
      {"pids", [](Json& j) { j["linux"]["resources"]["pids"]["limit"] = "many"; },
       "linux.resources.pids.limit: must be an integer, not a string"},
      {"seccomp default", [](Json& j) { j["linux"]["seccomp"]["defaultAction"] = "ALLOW"; },
       "linux.seccomp.defaultAction: unknown seccomp action \"ALLOW\""},
      {"seccomp action",
       [](Json& j) { j["linux"]["seccomp"]["syscalls"][2]["action"] = "SCMP_ACT_NOPE"; },
       "linux.seccomp.syscalls[2].action: unknown seccomp action \"SCMP_ACT_NOPE\""},
      {"seccomp arch", [](Json& j) { j["linux"]["seccomp"]["architectures"][1] = "x86"; },
       "linux.seccomp.architectures[1]: unknown seccomp architecture \"x86\""},
      {"seccomp flag", [](Json& j) { j["linux"]["seccomp"]["flags"][0] = "LOG"; },
       "linux.seccomp.flags[0]: unknown seccomp flag \"LOG\""},
      {"seccomp op", [](Json& j) { j["linux"]["seccomp"]["syscalls"][1]["args"][0]["op"] = "=="; },
       "linux.seccomp.syscalls[1].args[0].op: unknown seccomp operator \"==\""},
      {"seccomp index",
       [](Json& j) { j["linux"]["seccomp"]["syscalls"][1]["args"][0]["index"] = 6; },
       "linux.seccomp.syscalls[1].args[0].index: must be at most 5"},
      {"seccomp names", [](Json& j) { j["linux"]["seccomp"]["syscalls"][0]["names"] = {}; },
       "linux.seccomp.syscalls[0].names: must be an array, not null"},
      {"propagation", [](Json& j) { j["linux"]["rootfsPropagation"] = "recursive"; },
       "linux.rootfsPropagation: unknown propagation \"recursive\""},
      {"sysctl", [](Json& j) { j["linux"]["sysctl"]["net.ipv4.ip_forward"] = 1; },
       "linux.sysctl[\"net.ipv4.ip_forward\"]: must be a string, not an integer"},
      {"opaque", [](Json& j) { j["linux"]["resources"]["blockIO"] = 5; },
       "linux.resources.blockIO: must be an object, not an integer"},
  };
  std::string text = readData("runtime-config.json");
  for (const auto& c : cases) {
    std::string bad = edited(text, c.edit);
    EXPECT_EQ(errorOf([&] { RuntimeSpec::parse(bad, "config.json"); }), c.error) << c.name;
  }
}

TEST(RuntimeSpec, LenientModeIgnoresUnknownFieldsButNotBadValues) {
  std::string text = edited(readData("runtime-config.json"), [](Json& j) {
    j["vm"] = {{"hypervisor", {{"path", "/usr/bin/qemu"}}}};
    j["process"]["user"]["x-ferry"] = 1;
  });
  EXPECT_EQ(errorOf([&] { RuntimeSpec::parse(text, "c"); }), "process.user.x-ferry: unknown field");
  RuntimeSpec lenient = RuntimeSpec::parse(text, "c", {.strict = false});
  EXPECT_EQ(lenient, RuntimeSpec::parse(readData("runtime-config.json"), "c"));
  std::string bad = edited(text, [](Json& j) { j["linux"]["namespaces"][0]["type"] = "pidns"; });
  EXPECT_EQ(errorOf([&] { RuntimeSpec::parse(bad, "c", {.strict = false}); }),
            "linux.namespaces[0].type: unknown namespace type \"pidns\"");
}

TEST(RuntimeSpec, NameSets) {
  EXPECT_TRUE(isCapability("CAP_CHECKPOINT_RESTORE"));
  EXPECT_FALSE(isCapability("chown"));
  EXPECT_TRUE(isRlimit("RLIMIT_RTTIME"));
  EXPECT_TRUE(isNamespaceType("time"));
  EXPECT_TRUE(isSeccompAction("SCMP_ACT_KILL_PROCESS"));
  EXPECT_TRUE(isSeccompArch("SCMP_ARCH_AARCH64"));
  EXPECT_TRUE(isSeccompOperator("SCMP_CMP_MASKED_EQ"));
  EXPECT_TRUE(isSeccompFlag("SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
}

}  // namespace
}  // namespace ferry::oci
