// SHA-256 (FIPS 180-4) without a library behind it, for the statically linked stage1 and
// ferry-stage2, which must not pull in OpenSSL for the few kilobytes they hash (the seccomp
// filter cache's key and checksum: stage2/seccomp_filter.hpp). Everything else hashes with
// common/digest.hpp (OpenSSL, streaming, faster on large data).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

class Sha256 {
 public:
  using Bytes = std::array<uint8_t, 32>;

  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The digest; the object cannot be updated afterwards.
  Bytes finish();

  static Bytes of(std::string_view s) {
    Sha256 h;
    h.update(s);
    return h.finish();
  }

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buf_;
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// Lowercase hex of a digest.
std::string toHex(const Sha256::Bytes& b);

}  // namespace ferry
