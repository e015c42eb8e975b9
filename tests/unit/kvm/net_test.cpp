// The kvm stage1's network configuration (stage1/kvm/net.hpp): what the host writes for the
// guest reads back the same; a malformed line is refused.
#include "stage1/kvm/net.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

#include "common/error.hpp"

namespace ferry::stage1::kvm {
namespace {

TEST(KvmNet, ConfigRoundTrips) {
  NetConfig c;
  c.links.push_back({"eth0", "0a:58:ac:10:1c:05", 1450});
  c.links.push_back({"eth1", "aa:bb:cc:dd:ee:ff", 1500});
  c.addrs.push_back({"eth0", AF_INET, "172.16.28.5", 24});
  c.addrs.push_back({"eth1", AF_INET6, "fd00::5", 64});
  c.routes.push_back({"eth0", AF_INET, "172.16.28.1", 32, "", 253, 4, 0});
  c.routes.push_back({"eth0", AF_INET, "0.0.0.0", 0, "172.16.28.1", 0, 4, 0});
  c.routes.push_back({"eth1", AF_INET6, "::", 0, "fd00::1", 0, 3, 1024});
  NetConfig back = NetConfig::parse(c.text());
  EXPECT_EQ(back.text(), c.text());
  ASSERT_EQ(back.links.size(), 2u);
  EXPECT_EQ(back.links[0].mtu, 1450u);
  ASSERT_EQ(back.addrs.size(), 2u);
  EXPECT_EQ(back.addrs[1].family, AF_INET6);
  EXPECT_EQ(back.addrs[1].prefix, 64);
  ASSERT_EQ(back.routes.size(), 3u);
  EXPECT_TRUE(back.routes[0].gateway.empty());
  EXPECT_EQ(back.routes[2].gateway, "fd00::1");
  EXPECT_EQ(back.routes[2].metric, 1024u);
}

TEST(KvmNet, RefusesMalformedLines) {
  EXPECT_THROW(NetConfig::parse("link eth0\n"), Error);
  EXPECT_THROW(NetConfig::parse("addr eth0 10.0.0.1\n"), Error);
  EXPECT_THROW(NetConfig::parse("bridge br0\n"), Error);
  EXPECT_THROW(NetConfig::parse("link averyveryverylongname 00:00:00:00:00:01 1500\n"), Error);
}

}  // namespace
}  // namespace ferry::stage1::kvm
