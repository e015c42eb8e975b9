// Content digests (OpenSSL EVP), streaming.
//
// Hasher hashes bytes as they pass; Digest is a validated "algorithm:hex" value as used by OCI
// (`sha256:…`, `sha512:…`). appc image IDs are the same hash written `sha512-…`
// (see formats/appc for that form).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace ferry {

enum class DigestAlgorithm { kSha256, kSha512 };

std::string_view algorithmName(DigestAlgorithm a);  // "sha256" / "sha512"
size_t hexLength(DigestAlgorithm a);                // 64 / 128

class Hasher {
 public:
  explicit Hasher(DigestAlgorithm a);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Lowercase hex of the digest. The hasher cannot be used afterwards.
  std::string finishHex();
  DigestAlgorithm algorithm() const { return algorithm_; }

 private:
  DigestAlgorithm algorithm_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

class Digest {
 public:
  // Parses "sha256:<64 hex>" or "sha512:<128 hex>" (lowercase). Throws Error{kInvalid}.
  static Digest parse(std::string_view s);
  static Digest of(DigestAlgorithm a, std::string_view data);
  Digest(DigestAlgorithm a, std::string hex);  // hex must be valid; throws otherwise

  DigestAlgorithm algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string str() const;  // "sha256:…"

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  DigestAlgorithm algorithm_;
  std::string hex_;
};

bool isLowerHex(std::string_view s);

}  // namespace ferry
