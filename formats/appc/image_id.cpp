#include "formats/appc/image_id.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {
constexpr size_t kSha512HexLength = 128;

[[noreturn]] void invalid(std::string_view s, std::string_view why) {
  throw Error(Errc::kInvalid, "invalid image ID " + quote(s) + ": " + std::string(why));
}
}  // namespace

ImageId ImageId::parse(std::string_view s) {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) invalid(s, "must be \"sha512-\" followed by the hex digest");
  std::string_view algorithm = s.substr(0, dash);
  if (algorithm != "sha512") {
    invalid(s, "unsupported hash algorithm " + quote(algorithm) + " (only sha512 is allowed)");
  }
  std::string_view hex = s.substr(dash + 1);
  if (hex.size() != kSha512HexLength || !isLowerHex(hex)) {
    invalid(s, "the digest must be 128 lowercase hex digits");
  }
  return ImageId(std::string(hex));
}

ImageId ImageId::fromSha512Hex(std::string_view hex) {
  if (hex.size() != kSha512HexLength || !isLowerHex(hex)) {
    invalid(hex, "a sha512 digest must be 128 lowercase hex digits");
  }
  return ImageId(std::string(hex));
}

ImageId ImageId::fromDigest(const Digest& d) {
  if (d.algorithm() != DigestAlgorithm::kSha512) {
    throw Error(Errc::kUnsupported,
                "cannot use " + quote(d.str()) + " as an appc image ID: only sha512 is allowed");
  }
  return ImageId(d.hex());
}

Digest ImageId::digest() const { return Digest(DigestAlgorithm::kSha512, hex_); }

}  // namespace ferry::appc
