// Registry authentication: challenges and stored credentials.
//
// A registry answers an unauthenticated request with 401 and one or more `WWW-Authenticate`
// challenges (RFC 7235). parseChallenges() reads them: `Bearer realm="…",service="…",scope="…"`
// sends the client to a token server (distribution's token auth spec), `Basic realm="…"` asks for
// a user name and password on every request. Credentials hold those user names and passwords,
// read from the `auth.json` format shared by docker (`~/.docker/config.json`) and podman:
//   {"auths": {"registry[:port][/namespace]": {"auth": base64("user:pass")}
//                                           | {"username": "…", "password": "…"}}}
// RegistryClient (registry_client.hpp) combines the two.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::registry {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic", …
  std::optional<std::string> token68;         // `Scheme abc==` form (no parameters)
  std::map<std::string, std::string> params;  // names lowercased, values unquoted

  std::optional<std::string> param(std::string_view name) const;  // name in lowercase
  friend bool operator==(const Challenge&, const Challenge&) = default;
};

// Parses one WWW-Authenticate header value (which may hold several challenges). Throws
// Error{kInvalid} "invalid WWW-Authenticate header \"…\": <reason>".
std::vector<Challenge> parseChallenges(std::string_view header);

struct Credential {
  std::string username;
  std::string password;
  friend bool operator==(const Credential&, const Credential&) = default;
};

class Credentials {
 public:
  Credentials() = default;

  // Parses an auth.json / config.json document. Top-level keys other than "auths" (credsStore,
  // credHelpers, …) and entries without a user name (e.g. only an identity token) are ignored.
  // Throws Error{kInvalid} naming `what` and the JSON path.
  static Credentials parse(std::string_view text, std::string_view what);
  static Credentials load(const std::filesystem::path& path);

  // The files to read: $FERRY_AUTH_FILE alone if set (it must exist), else those of
  // <dataDir>/auth.json, podman's $XDG_RUNTIME_DIR/containers/auth.json and
  // $HOME/.docker/config.json that exist, in that order.
  static std::vector<std::filesystem::path> defaultPaths(const std::filesystem::path& dataDir);
  // The first of defaultPaths(dataDir); nullopt when there is none.
  static std::optional<std::filesystem::path> defaultPath(const std::filesystem::path& dataDir);
  // Every file of defaultPaths(dataDir) merged (for a key, the first file that has it wins), or
  // no credentials.
  static Credentials loadDefault(const std::filesystem::path& dataDir);
  // Adds the entries of `other` whose keys this does not have.
  void merge(const Credentials& other);

  // Keys are normalized: a scheme is dropped ("https://index.docker.io/v1/" → "index.docker.io").
  void add(std::string_view key, Credential credential);
  // The most specific entry for registry/repository: "reg/ns/repo", "reg/ns", then "reg". Docker
  // Hub ("docker.io") also matches entries for index.docker.io and registry-1.docker.io.
  std::optional<Credential> find(std::string_view registry, std::string_view repository = {}) const;
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, Credential, std::less<>> entries_;
};

// "Basic " + base64("user:password").
std::string basicAuthorization(const Credential& c);

std::string base64Encode(std::string_view data);
// Standard alphabet, padding optional; nullopt for anything else.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace ferry::registry
