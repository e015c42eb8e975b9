#include <gtest/gtest.h>

#include "common/error.hpp"
#include "stage0/fetch/appc_session.hpp"
#include "stage0/fetch/fetch.hpp"

namespace ferry::fetch {
namespace {

appc::Dependency dep(std::string_view name, appc::Labels labels = {},
                     std::optional<std::string> id = std::nullopt) {
  appc::Dependency d{appc::AcIdentifier::parse(name)};
  d.labels = std::move(labels);
  if (id) d.imageID = appc::ImageId::parse(*id);
  return d;
}

const std::string kIdA = "sha512-" + std::string(128, 'a');
const std::string kIdB = "sha512-" + std::string(128, 'b');

TEST(DependencyCycle, NoneOnAnEmptyOrUnrelatedChain) {
  EXPECT_EQ(dependencyCycle({}, dep("example.com/a")), std::nullopt);
  std::vector<DependencyLink> chain{{kIdA, "example.com/a", {{"version", "1"}}}};
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/b")), std::nullopt);
}

TEST(DependencyCycle, ByNameAndLabels) {
  std::vector<DependencyLink> chain{
      {kIdA, "example.com/a", {{"version", "1"}, {"os", "linux"}}},
      {kIdB, "example.com/b", {{"version", "2"}}},
  };
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a", {{"version", "1"}})),
            "example.com/a -> example.com/b -> example.com/a");
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a")),  // no labels: any version
            "example.com/a -> example.com/b -> example.com/a");
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/b", {{"version", "2"}})),
            "example.com/b -> example.com/b");
  // Another version of a is another image: no cycle (yet).
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a", {{"version", "9"}})), std::nullopt);
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a", {{"channel", "beta"}})), std::nullopt);
}

TEST(DependencyCycle, ByImageId) {
  std::vector<DependencyLink> chain{{kIdA, "example.com/a", {}}, {kIdB, "example.com/b", {}}};
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a", {}, kIdA)),
            "example.com/a -> example.com/b -> example.com/a");
  EXPECT_EQ(dependencyCycle(chain, dep("example.com/a", {}, kIdB)), std::nullopt);
}

TEST(ClientOptions, FollowInsecureOptions) {
  FetchOptions o;
  http::ClientOptions h = clientOptions(o);
  EXPECT_FALSE(h.allowHttp);
  EXPECT_TRUE(h.verifyTls);
  o.insecureHttp = true;
  o.insecureTls = true;
  h = clientOptions(o);
  EXPECT_TRUE(h.allowHttp);
  EXPECT_FALSE(h.verifyTls);
}

}  // namespace
}  // namespace ferry::fetch
