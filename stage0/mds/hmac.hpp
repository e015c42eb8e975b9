// Pod identity for the metadata service: HMAC-SHA512 over (pod UUID, content).
//
// The appc spec's identity endpoint signs "content" for the calling pod with a key only the
// service holds, so another pod can later ask the same service to verify that a pod with that
// UUID signed it. As in rkt, the MAC covers the UUID's 16 bytes followed by the content, and the
// signature travels in standard base64 (RFC 4648, padded).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "formats/appc/uuid.hpp"

namespace ferry::mds {

class HmacKey {
 public:
  static constexpr size_t kSize = 64;  // SHA-512's block-sized key

  // A key from OpenSSL's random generator (one per service instance).
  static HmacKey random();
  explicit HmacKey(const std::array<unsigned char, kSize>& bytes) : key_(bytes) {}

  // The base64 signature of content for the pod uuid.
  std::string sign(const appc::Uuid& uuid, std::string_view content) const;
  // Whether signatureBase64 is the signature of content for uuid (constant-time comparison).
  // A signature that is not valid base64 does not verify.
  bool verify(const appc::Uuid& uuid, std::string_view content,
              std::string_view signatureBase64) const;

 private:
  std::string mac(const appc::Uuid& uuid, std::string_view content) const;
  std::array<unsigned char, kSize> key_;
};

std::string base64Encode(std::string_view bytes);
// Strict standard base64 with padding; nullopt for anything else.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace ferry::mds
