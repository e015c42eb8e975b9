// OpenPGP through GPGME, never touching the user's keyring.
//
// Every operation runs in a Keyring: a private, temporary GnuPG home directory (created under a
// given parent, removed on destruction) holding only the keys ferry put there. inspectKeys reads
// an armored public key block and returns its keys' fingerprints and user IDs (for `ferry
// trust`); verifyDetached checks an armored detached signature of a file against exactly the
// keys imported into the keyring and returns the signing key's fingerprint.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::trust {

struct KeyInfo {
  std::string fingerprint;           // 40 (or 64) uppercase hex digits
  std::vector<std::string> userIds;  // "Name <mail>"
  bool expired = false;
  bool revoked = false;
};

class Keyring {
 public:
  // Creates a private GnuPG home under `parent` (which must exist).
  explicit Keyring(const std::filesystem::path& parent);
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Imports armored public keys; returns the keys found in the block. Error{kInvalid} when the
  // block holds no public key; secret keys are refused.
  std::vector<KeyInfo> import(std::string_view armored, std::string_view what);

  // Verifies an armored detached signature over the file at `signedFile`. Returns the
  // fingerprint of the key that made a good signature. Error{kSecurity} for a bad signature,
  // a signature by a key not in the keyring, or an expired/revoked key.
  std::string verifyDetached(const std::filesystem::path& signedFile, std::string_view signature,
                             std::string_view what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads an armored key block in a throwaway keyring.
std::vector<KeyInfo> inspectKeys(std::string_view armored, std::string_view what,
                                 const std::filesystem::path& scratchParent);

}  // namespace ferry::trust
