// ferry's own OpenPGP trust store (never the user's keyring).
//
// Keys live as armored files under `<dir>/trust/`: `root.d/<FINGERPRINT>` trusts a key for every
// image; `prefix.d/<escaped prefix>/<FINGERPRINT>` for images whose name is that prefix or lies
// below it ("example.com/app" covers "example.com/app" and "example.com/app/x", not
// "example.com/apple"). verify() checks an ACI's detached signature against exactly the keys
// that apply to the image's name, in a throwaway GnuPG home.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stage0/trust/openpgp.hpp"

namespace ferry::trust {

struct Scope {
  std::optional<std::string> prefix;  // nullopt: root (every image)
  std::string str() const { return prefix ? "prefix " + *prefix : std::string("root"); }
};

struct TrustedKey {
  Scope scope;
  std::string fingerprint;
  std::filesystem::path file;
};

class TrustStore {
 public:
  // `dataDir` is ferry's --dir; the store is dataDir/trust.
  explicit TrustStore(std::filesystem::path dataDir);

  // Stores the armored block under the scope, named by its (first) key's fingerprint.
  // Error{kInvalid} for an invalid prefix or a block without exactly one primary key.
  TrustedKey add(const Scope& scope, std::string_view armored, const KeyInfo& key);
  bool remove(std::string_view fingerprint);
  std::vector<TrustedKey> list() const;
  // The keys that apply to an image name (root keys and every covering prefix).
  std::vector<TrustedKey> keysFor(std::string_view imageName) const;

  // Verifies `signature` (armored, detached) over `aciFile` for image `imageName`; returns the
  // fingerprint of the trusted key that signed. Error{kSecurity} when no trusted key applies,
  // the signature is bad, or the signer is not trusted for this name.
  std::string verify(std::string_view imageName, const std::filesystem::path& aciFile,
                     std::string_view signature) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path dataDir_;
  std::filesystem::path root_;
};

// "example.com/app" → "example.com,app" (a prefix as one directory name).
std::string escapePrefix(std::string_view prefix);
bool prefixCovers(std::string_view prefix, std::string_view name);

}  // namespace ferry::trust
