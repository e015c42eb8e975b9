#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "stage0/net/cni.hpp"
#include "stage0/net/networks.hpp"

namespace ferry::net {
namespace {

namespace fs = std::filesystem;

NetSpec spec(std::initializer_list<const char*> flags) {
  NetSpec s;
  for (const char* f : flags) s.add(f);
  return s;
}

TEST(NetSpec, RktForms) {
  EXPECT_EQ(spec({"host"}).mode, NetSpec::Mode::kHost);
  EXPECT_EQ(spec({"none"}).mode, NetSpec::Mode::kNone);
  NetSpec bare = spec({""});
  EXPECT_EQ(bare.mode, NetSpec::Mode::kCni);
  ASSERT_EQ(bare.networks.size(), 1u);
  EXPECT_EQ(bare.networks[0].name, "default");
  NetSpec two = spec({"a:IP=198.18.1.7;FOO=bar,b", "c"});
  ASSERT_EQ(two.networks.size(), 3u);
  EXPECT_EQ(two.networks[0].name, "a");
  ASSERT_EQ(two.networks[0].args.size(), 2u);
  EXPECT_EQ(two.networks[0].args[0], (std::pair<std::string, std::string>{"IP", "198.18.1.7"}));
  EXPECT_EQ(two.text(), "a,b,c");
  EXPECT_TRUE(spec({"all"}).all);
}

TEST(NetSpec, Refusals) {
  for (auto bad : {std::vector<const char*>{"host", "default"},
                   {"default", "none"},
                   {"host", "none"},
                   {"a,a"},
                   {"a:IP"},
                   {"../x"},
                   {"a b"},
                   {"a,"}}) {
    NetSpec s;
    try {
      for (const char* f : bad) s.add(f);
      ADD_FAILURE() << "accepted " << bad[0];
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kUsage) << e.what();
    }
  }
  EXPECT_EQ(spec({"host", "host"}).mode, NetSpec::Mode::kHost);
}

TEST(Ports, PortAndPublish) {
  PortRequest p = parsePort("http:8080");
  EXPECT_EQ(p.name, "http");
  EXPECT_EQ(p.hostPort, 8080);
  EXPECT_EQ(p.hostIp, "");
  p = parsePort("http:127.0.0.1:8080");
  EXPECT_EQ(p.hostIp, "127.0.0.1");
  p = parsePort("http:[::1]:8080");
  EXPECT_EQ(p.hostIp, "::1");
  p = parsePublish("8080:80");
  EXPECT_EQ(p.hostPort, 8080);
  EXPECT_EQ(p.podPort, 80);
  EXPECT_EQ(p.protocol, "tcp");
  p = parsePublish("198.18.0.1:5353:53/udp");
  EXPECT_EQ(p.hostIp, "198.18.0.1");
  EXPECT_EQ(p.protocol, "udp");
  for (auto bad : {"80", "x:80", "8080:0", "8080:70000", "8080:80/sctp", "a b:1:2"}) {
    EXPECT_THROW(parsePublish(bad), Error) << bad;
  }
  for (auto bad : {"8080", ":8080", "http:", "http:x", "http:1.2.3.4:0"}) {
    EXPECT_THROW(parsePort(bad), Error) << bad;
  }
}

TEST(Cni, ResultAddressesAndHostInterfaces) {
  json::Json r = json::parse(
      R"({"cniVersion":"1.0.0","interfaces":[{"name":"veth1"},{"name":"eth0","sandbox":"/x"}],
          "ips":[{"interface":1,"address":"172.16.28.2/24","gateway":"172.16.28.1"}]})",
      "r");
  EXPECT_EQ(resultAddresses(r), std::vector<std::string>{"172.16.28.2/24"});
  EXPECT_EQ(hostInterfaces(r), std::vector<std::string>{"veth1"});
  json::Json old = json::parse(R"({"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.3/16"}})", "r");
  EXPECT_EQ(resultAddresses(old), std::vector<std::string>{"10.1.2.3/16"});
}

TEST(Cni, PluginTypesArePlainNames) {
  for (auto bad : {"../bin/sh", "/bin/sh", ".hidden", "", "a/b"}) {
    try {
      findPlugin(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid) << e.what();
    }
  }
}

class NetConfigs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferry-net-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "net.d");
    fs::create_directories(dir_ / "plugins");
    fs::create_directories(dir_ / "system");
    for (const char* p : {"ptp", "host-local", "portmap"}) {
      std::ofstream(dir_ / "plugins" / p) << "#!/bin/sh\n";
      ::chmod((dir_ / "plugins" / p).c_str(), 0755);
    }
    ::setenv("FERRY_CNI_PATH", (dir_ / "plugins").c_str(), 1);
    ::setenv("FERRY_NET_CONFIG_DIR", (dir_ / "system").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("FERRY_CNI_PATH");
    ::unsetenv("FERRY_NET_CONFIG_DIR");
    fs::remove_all(dir_);
  }
  void conf(const std::string& name, const std::string& text, mode_t mode = 0644) {
    std::ofstream(dir_ / "net.d" / name) << text;
    ::chmod((dir_ / "net.d" / name).c_str(), mode);
  }
  fs::path dir_;
};

TEST_F(NetConfigs, DefaultsNamedAndPorts) {
  conf("10-a.conf",
       R"({"cniVersion":"0.4.0","name":"a","type":"ptp","ipam":{"type":"host-local"}})");
  conf("20-b.conflist",
       R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"ptp"},
           {"type":"portmap","capabilities":{"portMappings":true}}]})");
  NetPlan plan = planNetworks(spec({"default,a:IP=1.2.3.4", "b"}), {}, dir_);
  ASSERT_EQ(plan.networks.size(), 3u);
  EXPECT_EQ(plan.networks[0].ifName, "eth0");
  EXPECT_EQ(plan.networks[1].name, "a");
  EXPECT_EQ(plan.networks[1].config["plugins"][0]["type"], "ptp");
  EXPECT_EQ(plan.networks[2].ifName, "eth2");
  EXPECT_EQ(plan.networks[0].config["plugins"].size(), 1u);  // no ports: no portmap
  NetPlan withPorts = planNetworks(spec({"default"}), {parsePublish("8080:80")}, dir_);
  EXPECT_EQ(withPorts.networks[0].config["plugins"][1]["type"], "portmap");
  EXPECT_THROW(planNetworks(spec({"a"}), {parsePublish("8080:80")}, dir_), Error);
  NetPlan all = planNetworks(spec({"all"}), {}, dir_);
  ASSERT_EQ(all.networks.size(), 3u);
  EXPECT_EQ(all.networks[0].name, "default");
  NetPlan round = NetPlan::fromJson(plan.toJson(), "plan");
  EXPECT_EQ(round.toJson(), plan.toJson());
}

TEST_F(NetConfigs, BadConfigsRefused) {
  conf("bad.conf", R"({"cniVersion":"0.4.0","name":"bad","type":"nosuchplugin"})");
  conf("broken.conf", R"({"cniVersion":"0.4.0","name":)");
  conf("open.conf", R"({"cniVersion":"0.4.0","name":"open","type":"ptp"})", 0666);
  auto refused = [&](const char* net, const char* want) {
    try {
      planNetworks(spec({net}), {}, dir_);
      ADD_FAILURE() << net;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  refused("bad", "no CNI plugin \"nosuchplugin\"");
  refused("open", "no network \"open\"");
  refused("nosuch", "no network \"nosuch\"");
  refused("all", "cannot use the network configuration");
}

}  // namespace
}  // namespace ferry::net
