#include "discovery/reference.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"

namespace ferry::registry {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

struct Valid {
  std::string input;
  std::string registry;
  std::string repository;
  std::optional<std::string> tag;
  bool digest;
  std::string canonical;
};

TEST(Reference, ParsesAndNormalizes) {
  const Valid table[] = {
      // Docker Hub: default registry, library/ for official images, default tag.
      {"busybox", "docker.io", "library/busybox", "latest", false,
       "docker://docker.io/library/busybox:latest"},
      {"docker://busybox", "docker.io", "library/busybox", "latest", false,
       "docker://docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", false,
       "docker://docker.io/library/busybox:1.36"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", false,
       "docker://docker.io/library/busybox:latest"},
      {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", false,
       "docker://docker.io/library/busybox:latest"},
      {"docker.io/library/busybox:musl", "docker.io", "library/busybox", "musl", false,
       "docker://docker.io/library/busybox:musl"},
      {"bitnami/redis", "docker.io", "bitnami/redis", "latest", false,
       "docker://docker.io/bitnami/redis:latest"},
      {"a/b/c:v1", "docker.io", "a/b/c", "v1", false, "docker://docker.io/a/b/c:v1"},
      // Registries: localhost, a dot, a port, an uppercase letter, IPv6.
      {"localhost/x", "localhost", "x", "latest", false, "docker://localhost/x:latest"},
      {"localhost:5000/x:1", "localhost:5000", "x", "1", false, "docker://localhost:5000/x:1"},
      {"docker://localhost:5000/x:1", "localhost:5000", "x", "1", false,
       "docker://localhost:5000/x:1"},
      {"quay.io/coreos/etcd", "quay.io", "coreos/etcd", "latest", false,
       "docker://quay.io/coreos/etcd:latest"},
      {"127.0.0.1:5000/ns/app:v2.0-rc_1", "127.0.0.1:5000", "ns/app", "v2.0-rc_1", false,
       "docker://127.0.0.1:5000/ns/app:v2.0-rc_1"},
      {"myregistry:5000/app", "myregistry:5000", "app", "latest", false,
       "docker://myregistry:5000/app:latest"},
      {"Registry/app", "Registry", "app", "latest", false, "docker://Registry/app:latest"},
      {"[::1]:5000/app", "[::1]:5000", "app", "latest", false, "docker://[::1]:5000/app:latest"},
      {"registry-1.docker.io/library/x", "registry-1.docker.io", "library/x", "latest", false,
       "docker://registry-1.docker.io/library/x:latest"},
      // Separators inside components.
      {"a_b/c.d__e---f", "docker.io", "a_b/c.d__e---f", "latest", false,
       "docker://docker.io/a_b/c.d__e---f:latest"},
      // A first component with a dot is a registry, even where a user meant a namespace.
      {"a.b/c", "a.b", "c", "latest", false, "docker://a.b/c:latest"},
      // Digests, with and without a tag.
      {"busybox@" + kDigest, "docker.io", "library/busybox", std::nullopt, true,
       "docker://docker.io/library/busybox@" + kDigest},
      {"localhost:5000/x:1@" + kDigest, "localhost:5000", "x", "1", true,
       "docker://localhost:5000/x:1@" + kDigest},
      // Tags: word characters first, up to 128.
      {"x:_" + std::string(127, 'a'), "docker.io", "library/x", "_" + std::string(127, 'a'), false,
       "docker://docker.io/library/x:_" + std::string(127, 'a')},
      {"x:V1.0", "docker.io", "library/x", "V1.0", false, "docker://docker.io/library/x:V1.0"},
  };
  for (const Valid& v : table) {
    SCOPED_TRACE(v.input);
    DockerReference r = DockerReference::parse(v.input);
    EXPECT_EQ(r.registry(), v.registry);
    EXPECT_EQ(r.repository(), v.repository);
    EXPECT_EQ(r.tag(), v.tag);
    EXPECT_EQ(r.digest().has_value(), v.digest);
    EXPECT_EQ(r.str(), v.canonical);
    // The canonical form parses back to the same reference.
    EXPECT_EQ(DockerReference::parse(r.str()), r);
  }
}

TEST(Reference, ApiHostAndManifestReference) {
  DockerReference hub = DockerReference::parse("busybox");
  EXPECT_EQ(hub.apiHost(), "registry-1.docker.io");
  EXPECT_EQ(hub.name(), "docker.io/library/busybox");
  EXPECT_EQ(hub.manifestReference(), "latest");
  DockerReference local = DockerReference::parse("localhost:5000/x:1@" + kDigest);
  EXPECT_EQ(local.apiHost(), "localhost:5000");
  EXPECT_EQ(local.manifestReference(), kDigest);
  DockerReference pinned = hub.withDigest(Digest::parse(kDigest));
  EXPECT_EQ(pinned.str(), "docker://docker.io/library/busybox:latest@" + kDigest);
  EXPECT_EQ(pinned.manifestReference(), kDigest);
}

TEST(Reference, RejectsInvalid) {
  const std::pair<std::string, std::string> table[] = {
      {"", "empty reference"},
      {"docker://", "empty reference"},
      {kHex, "a 64-character hexadecimal string is an image ID, not a repository"},
      {"Busybox", "repository name \"Busybox\" must be lowercase"},
      {"docker.io/Library/x", "repository name \"Library/x\" must be lowercase"},
      {"x:", "invalid tag \"\" (want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)"},
      {"x:-a", "invalid tag \"-a\" (want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)"},
      {"x:.a", "invalid tag \".a\" (want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)"},
      {"x:a+b", "invalid tag \"a+b\" (want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)"},
      {"x:" + std::string(129, 'a'), "invalid tag \"" + std::string(129, 'a') +
                                         "\" (want 1 to 128 of [A-Za-z0-9_.-], not starting "
                                         "with . or -)"},
      {"x@sha256:abc", "invalid digest \"sha256:abc\" (want sha256:<64 hex> or sha512:<128 hex>)"},
      {"x@md5:" + std::string(32, 'a'), "invalid digest \"md5:" + std::string(32, 'a') +
                                            "\" (want sha256:<64 hex> or sha512:<128 hex>)"},
      {"x@sha256:" + std::string(64, 'A'), "invalid digest \"sha256:" + std::string(64, 'A') +
                                               "\" (want sha256:<64 hex> or sha512:<128 hex>)"},
      {"@" + kDigest, "no repository name"},
      {":tag", "no repository name"},
      {"localhost:5000/", "no repository name"},
      {"a//b",
       "invalid repository name component \"\" (want [a-z0-9] separated by '.', '_', "
       "'__' or dashes)"},
      {"a/b/",
       "invalid repository name component \"\" (want [a-z0-9] separated by '.', '_', "
       "'__' or dashes)"},
      {"-a",
       "invalid repository name component \"-a\" (want [a-z0-9] separated by '.', '_', "
       "'__' or dashes)"},
      {"a___b",
       "invalid repository name component \"a___b\" (want [a-z0-9] separated by '.', "
       "'_', '__' or dashes)"},
      {"a..b",
       "invalid repository name component \"a..b\" (want [a-z0-9] separated by '.', "
       "'_', '__' or dashes)"},
      {"a_",
       "invalid repository name component \"a_\" (want [a-z0-9] separated by '.', '_', "
       "'__' or dashes)"},
      {"localhost:99999/x", "invalid registry \"localhost:99999\""},
      {"localhost:/x", "invalid registry \"localhost:\""},
      {"-bad.com/x", "invalid registry \"-bad.com\""},
      {"a..com/x", "invalid registry \"a..com\""},
      {"[zz]:5000/x", "invalid registry \"[zz]:5000\""},
      {"example.com/" + std::string(250, 'a'), "name longer than 255 characters"},
  };
  for (const auto& [input, reason] : table) {
    SCOPED_TRACE(input);
    try {
      DockerReference::parse(input);
      ADD_FAILURE() << "parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalid);
      EXPECT_EQ(std::string(e.what()), "invalid docker reference " + quote(input) + ": " + reason);
    }
  }
}

TEST(Reference, GrammarPredicates) {
  EXPECT_TRUE(isValidRepositoryComponent("a-----b"));
  EXPECT_TRUE(isValidRepositoryComponent("a__b"));
  EXPECT_FALSE(isValidRepositoryComponent("a.-b"));
  EXPECT_FALSE(isValidRepositoryComponent("A"));
  EXPECT_TRUE(isValidTag("latest"));
  EXPECT_FALSE(isValidTag(""));
  EXPECT_TRUE(isValidRegistry("a.b.c:1"));
  EXPECT_TRUE(isValidRegistry("[fe80::1]"));
  EXPECT_FALSE(isValidRegistry("a:0"));
  EXPECT_FALSE(isValidRegistry("a b"));
}

}  // namespace
}  // namespace ferry::registry
