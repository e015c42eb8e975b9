#include "formats/appc/isolator.hpp"

#include <gtest/gtest.h>

#include "formats/appc/capabilities.hpp"
#include "test_util.hpp"

namespace ferry::appc {
namespace {

using json::Json;
using test::errorOf;

Isolator parseIsolator(std::string_view text) {
  return Isolator::fromJson(json::parse(text, "isolator"), "app.isolators[1]");
}

std::string isolatorError(std::string_view text) {
  return errorOf([&] { parseIsolator(text); });
}

// Every valid value parses to the expected kind and serializes back to the same JSON.
TEST(Isolator, ValidValuesRoundTrip) {
  struct Case {
    const char* json;
    size_t index;  // alternative in IsolatorValue
  } cases[] = {
      {R"({"name":"resource/cpu","value":{"request":"250m","limit":"500m"}})", 0},
      {R"({"name":"resource/cpu","value":{"limit":"2"}})", 0},
      {R"({"name":"resource/cpu","value":{"default":false,"request":"1"}})", 0},
      {R"({"name":"resource/memory","value":{"request":"1G","limit":"2G"}})", 1},
      {R"({"name":"resource/block-bandwidth","value":{"default":true,"limit":"2M"}})", 2},
      {R"({"name":"resource/block-iops","value":{"default":true,"limit":"1000"}})", 3},
      {R"({"name":"resource/network-bandwidth","value":{"default":true,"limit":"1G"}})", 4},
      {R"({"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_NET_ADMIN"]}})", 5},
      {R"({"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_SYS_CHROOT","CAP_MKNOD"]}})",
       6},
      {R"({"name":"os/linux/seccomp-retain-set","value":{"errno":"","set":["accept","read"]}})", 7},
      {R"({"name":"os/linux/seccomp-retain-set","value":{"set":["@appc.io/all"]}})", 7},
      {R"({"name":"os/linux/seccomp-remove-set","value":{"errno":"ENOTSUP","set":["reboot"]}})", 8},
      {R"({"name":"os/linux/seccomp-remove-set","value":{"errno":"E2BIG","set":["@appc.io/empty"]}})",
       8},
      {R"({"name":"os/linux/no-new-privileges","value":true})", 9},
      {R"({"name":"os/linux/no-new-privileges","value":false})", 9},
      {R"({"name":"os/linux/oom-score-adj","value":-1000})", 10},
      {R"({"name":"os/linux/oom-score-adj","value":1000})", 10},
      {R"({"name":"os/linux/cpu-shares","value":2})", 11},
      {R"({"name":"os/linux/cpu-shares","value":262144})", 11},
      {R"({"name":"os/linux/selinux-context","value":{"user":"system_u","role":"system_r","type":"dhcpc_t","level":"s0:c1,c2"}})",
       12},
      {R"({"name":"os/unix/sysctl","value":{"net.ipv4.tcp_mtu_probing":"1","net.core.somaxconn":"1024"}})",
       13},
      {R"({"name":"os/unix/sysctl","value":{}})", 13},
      {R"({"name":"example.com/gpu","value":{"count":2,"anything":[null]}})", 14},
      {R"({"name":"os/linux/apparmor","value":"profile"})", 14},
  };
  for (const auto& c : cases) {
    Json j = json::parse(c.json, "isolator");
    Isolator iso = Isolator::fromJson(j, "isolators[0]");
    EXPECT_EQ(iso.value.index(), c.index) << c.json;
    EXPECT_EQ(iso.name().str(), j["name"].get<std::string>());
    EXPECT_EQ(iso.toJson(), j) << c.json;
    EXPECT_EQ(json::dump(iso.toJson()), json::dump(j));
    EXPECT_NO_THROW(iso.validate()) << c.json;
    EXPECT_EQ(iso.known(), c.index != 14);
  }
}

TEST(Isolator, TypedAccess) {
  Isolator mem = parseIsolator(R"({"name":"resource/memory","value":{"limit":"1Gi"}})");
  const auto& m = std::get<ResourceMemory>(mem.value);
  EXPECT_EQ(m.limit->value(), int64_t{1} << 30);
  EXPECT_FALSE(m.request);
  EXPECT_FALSE(m.isDefault);

  Isolator cpu = parseIsolator(R"({"name":"resource/cpu","value":{"request":"250m"}})");
  EXPECT_EQ(std::get<ResourceCpu>(cpu.value).request->milliValue(), 250);

  Isolator seccomp =
      parseIsolator(R"({"name":"os/linux/seccomp-remove-set","value":{"set":["reboot"]}})");
  EXPECT_FALSE(std::get<LinuxSeccompRemoveSet>(seccomp.value).errnoName);

  Isolator unknown = parseIsolator(R"({"name":"vendor.com/x","value":[1,2]})");
  const auto& u = std::get<UnknownIsolator>(unknown.value);
  EXPECT_EQ(u.name.str(), "vendor.com/x");
  EXPECT_EQ(u.value, Json::parse("[1,2]"));

  // Built in code: the name follows the value.
  Isolator built{LinuxCpuShares{512}};
  EXPECT_EQ(json::dump(built.toJson()), R"({"name":"os/linux/cpu-shares","value":512})");
  EXPECT_THROW((Isolator{LinuxCpuShares{1}}.validate()), Error);
  EXPECT_THROW((Isolator{LinuxCapabilitiesRetainSet{}}.validate()), Error);
  EXPECT_EQ(errorOf([] { Isolator{LinuxOomScoreAdj{5000}}.validate(); }),
            "invalid os/linux/oom-score-adj isolator: value: must be between -1000 and 1000");
}

TEST(Isolator, InvalidValuesNameTheirPath) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"name":"resource/memory","value":{"limit":"12X"}})",
       "app.isolators[1].value.limit: must be a quantity, not \"12X\""},
      {R"({"name":"resource/memory","value":{"limit":2}})",
       "app.isolators[1].value.limit: must be a quantity, not an integer"},
      {R"({"name":"resource/memory","value":{"limit":"-1"}})",
       "app.isolators[1].value.limit: must not be negative"},
      {R"({"name":"resource/memory","value":{"request":"1G","max":"2G"}})",
       "app.isolators[1].value.max: unknown field"},
      {R"({"name":"resource/memory","value":{}})",
       "app.isolators[1].value: needs a request or a limit"},
      {R"({"name":"resource/memory","value":"1G"})",
       "app.isolators[1].value: must be an object, not a string"},
      {R"({"name":"resource/cpu","value":{"default":true,"limit":"1"}})",
       "app.isolators[1].value.default: must be false for resource/cpu"},
      {R"({"name":"resource/block-iops","value":{"limit":"1000"}})",
       "app.isolators[1].value.default: must be true for resource/block-iops (it applies to "
       "every device)"},
      {R"({"name":"resource/block-bandwidth","value":{"default":true}})",
       "app.isolators[1].value.limit: required field is missing"},
      {R"({"name":"resource/network-bandwidth","value":{"default":true,"request":"1","limit":"2"}})",
       "app.isolators[1].value.request: is not supported by resource/network-bandwidth"},
      {R"({"name":"os/linux/capabilities-retain-set","value":{"set":[]}})",
       "app.isolators[1].value.set: must not be empty"},
      {R"({"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_NET_ADMIN","NET_RAW"]}})",
       "app.isolators[1].value.set[1]: unknown Linux capability \"NET_RAW\" (names look like "
       "CAP_NET_ADMIN)"},
      {R"({"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_FOO"]}})",
       "app.isolators[1].value.set[0]: unknown Linux capability \"CAP_FOO\" (names look like "
       "CAP_NET_ADMIN)"},
      {R"({"name":"os/linux/capabilities-remove-set","value":{}})",
       "app.isolators[1].value.set: required field is missing"},
      {R"({"name":"os/linux/capabilities-remove-set","value":{"set":"CAP_KILL"}})",
       "app.isolators[1].value.set: must be an array, not a string"},
      {R"({"name":"os/linux/seccomp-retain-set","value":{"set":[]}})",
       "app.isolators[1].value.set: must not be empty"},
      {R"({"name":"os/linux/seccomp-retain-set","value":{"errno":"enotsup","set":["read"]}})",
       "app.isolators[1].value.errno: must be an upper-case errno name like \"EPERM\", not "
       "\"enotsup\""},
      {R"({"name":"os/linux/seccomp-remove-set","value":{"set":["Reboot"]}})",
       "app.isolators[1].value.set[0]: must be a system call name or a \"@scope/wildcard\", not "
       "\"Reboot\""},
      {R"({"name":"os/linux/seccomp-remove-set","value":{"set":["@all"]}})",
       "app.isolators[1].value.set[0]: must be a system call name or a \"@scope/wildcard\", not "
       "\"@all\""},
      {R"({"name":"os/linux/no-new-privileges","value":"true"})",
       "app.isolators[1].value: must be a boolean, not a string"},
      {R"({"name":"os/linux/oom-score-adj","value":-2500})",
       "app.isolators[1].value: must be between -1000 and 1000"},
      {R"({"name":"os/linux/oom-score-adj","value":"pants"})",
       "app.isolators[1].value: must be an integer, not a string"},
      {R"({"name":"os/linux/cpu-shares","value":1})",
       "app.isolators[1].value: must be between 2 and 262144"},
      {R"({"name":"os/linux/cpu-shares","value":1.5})",
       "app.isolators[1].value: must be an integer, not a number"},
      {R"({"name":"os/linux/selinux-context","value":{"user":"a:b","role":"r","type":"t","level":"s0"}})",
       "app.isolators[1].value.user: must not contain ':'"},
      {R"({"name":"os/linux/selinux-context","value":{"user":"u","role":"r","type":"t"}})",
       "app.isolators[1].value.level: required field is missing"},
      {R"({"name":"os/linux/selinux-context","value":{"user":"u","role":"","type":"t","level":"s0"}})",
       "app.isolators[1].value.role: must not be empty"},
      {R"({"name":"os/unix/sysctl","value":{"net.core.somaxconn":1024}})",
       "app.isolators[1].value[\"net.core.somaxconn\"]: must be a string, not an integer"},
      {R"({"name":"os/unix/sysctl","value":["net.core.somaxconn=1"]})",
       "app.isolators[1].value: must be an object, not an array"},
      {R"({"name":"Resource/CPU","value":{}})",
       "app.isolators[1].name: invalid AC Identifier \"Resource/CPU\": must be lowercase letters, "
       "digits and '-', '.', '_', '~', '/', beginning and ending with a letter or digit"},
      {R"({"name":"resource/cpu"})", "app.isolators[1].value: required field is missing"},
      {R"({"value":1})", "app.isolators[1].name: required field is missing"},
      {R"({"name":"x","value":1,"extra":2})", "app.isolators[1].extra: unknown field"},
  };
  for (const auto& c : cases) EXPECT_EQ(isolatorError(c.json), c.error) << c.json;
}

TEST(Isolators, SetRules) {
  auto setError = [](std::string_view text) {
    return errorOf([&] { isolatorsFromJson(json::parse(text, "t"), "app.isolators"); });
  };
  EXPECT_EQ(setError(R"([{"name":"os/linux/seccomp-retain-set","value":{"set":["read"]}},
                         {"name":"os/linux/seccomp-remove-set","value":{"set":["reboot"]}}])"),
            "app.isolators[1].name: \"os/linux/seccomp-remove-set\" cannot be used together with "
            "\"os/linux/seccomp-retain-set\"");
  EXPECT_EQ(setError(R"([{"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_KILL"]}},
                         {"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_KILL"]}}])"),
            "app.isolators[1].name: \"os/linux/capabilities-retain-set\" cannot be used together "
            "with \"os/linux/capabilities-remove-set\"");
  EXPECT_EQ(setError(R"([{"name":"resource/memory","value":{"limit":"1G"}},
                         {"name":"resource/memory","value":{"limit":"2G"}}])"),
            "app.isolators[1].name: only one \"resource/memory\" isolator is allowed");
  EXPECT_EQ(setError(R"([{"name":"os/linux/cpu-shares","value":2},
                         {"name":"resource/cpu","value":{"limit":"1"}},
                         {"name":"os/linux/cpu-shares","value":3}])"),
            "app.isolators[2].name: only one \"os/linux/cpu-shares\" isolator is allowed");
  // Allowed repeats: capability sets of one kind, no-new-privileges, unknown isolators.
  Isolators ok = isolatorsFromJson(
      json::parse(R"([{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_KILL"]}},
                      {"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN"]}},
                      {"name":"os/linux/no-new-privileges","value":true},
                      {"name":"os/linux/no-new-privileges","value":true},
                      {"name":"x.com/y","value":1},{"name":"x.com/y","value":2}])",
                  "t"),
      "isolators");
  EXPECT_EQ(ok.size(), 6u);
  EXPECT_EQ(setError("{}"), "app.isolators: must be an array, not an object");
}

TEST(Capabilities, Names) {
  EXPECT_EQ(capabilityNumber("CAP_CHOWN"), 0);
  EXPECT_EQ(capabilityNumber("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capabilityNumber("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capabilityNumber("cap_chown"));
  EXPECT_FALSE(capabilityNumber("CHOWN"));
  EXPECT_EQ(linuxCapabilities().size(), 41u);
  EXPECT_EQ(defaultCapabilities().size(), 14u);
  for (auto c : defaultCapabilities()) EXPECT_TRUE(capabilityNumber(c)) << c;
}

}  // namespace
}  // namespace ferry::appc
