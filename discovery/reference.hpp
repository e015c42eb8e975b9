// Docker image references: `docker://[registry[:port]/]repo[:tag][@digest]`.
//
// This is the grammar of Docker's reference package (distribution/reference), normalized the way
// `docker pull` normalizes it: a first path component is a registry only if it is `localhost`,
// contains a `.` or a `:`, or has an uppercase letter; otherwise the image is on Docker Hub
// (`docker.io`, served at `registry-1.docker.io`), where a single-component repository is an
// official image under `library/`. A reference with neither tag nor digest means `:latest`; one
// with both keeps both and is fetched by digest. A DockerReference is always valid.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"

namespace ferry::registry {

inline constexpr std::string_view kDockerScheme = "docker://";
inline constexpr std::string_view kDockerHub = "docker.io";
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

class DockerReference {
 public:
  // Parses a reference with or without the "docker://" prefix. Throws Error{kInvalid} with a
  // message "invalid docker reference \"<input>\": <reason>".
  static DockerReference parse(std::string_view s);

  // The registry as named in references and credentials: "docker.io", "localhost:5000".
  const std::string& registry() const { return registry_; }
  // The host[:port] to talk to: registry-1.docker.io for Docker Hub, the registry otherwise.
  std::string apiHost() const;
  // The repository path inside the registry: "library/busybox".
  const std::string& repository() const { return repository_; }
  const std::optional<std::string>& tag() const { return tag_; }
  const std::optional<Digest>& digest() const { return digest_; }

  // What goes after /manifests/: the digest when there is one, else the tag.
  std::string manifestReference() const;
  // "registry/repository".
  std::string name() const;
  // The canonical form: "docker://docker.io/library/busybox:latest".
  std::string str() const;

  // The same repository pinned to a digest (the tag is kept for display).
  DockerReference withDigest(Digest d) const;

  friend bool operator==(const DockerReference&, const DockerReference&) = default;

 private:
  DockerReference() = default;

  std::string registry_;
  std::string repository_;
  std::optional<std::string> tag_;
  std::optional<Digest> digest_;
};

// Grammar checks, exposed for tests and for callers that build references from parts.
bool isValidTag(std::string_view tag);                // [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool isValidRepositoryComponent(std::string_view c);  // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool isValidRegistry(std::string_view registry);      // host[:port], host a DNS name or [IPv6]

}  // namespace ferry::registry
