// appc image IDs: "sha512-<128 lowercase hex>", the hash of the uncompressed image tar.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/digest.hpp"

namespace ferry::appc {

class ImageId {
 public:
  // The spec's Image ID type allows one algorithm, sha512. Throws Error{kInvalid}.
  static ImageId parse(std::string_view s);
  static ImageId fromSha512Hex(std::string_view hex);
  static ImageId fromDigest(const Digest& d);  // kUnsupported unless sha512

  std::string_view algorithm() const { return "sha512"; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return "sha512-" + hex_; }
  Digest digest() const;  // the same hash as an OCI digest, "sha512:<hex>"

  friend bool operator==(const ImageId&, const ImageId&) = default;
  friend auto operator<=>(const ImageId&, const ImageId&) = default;

 private:
  explicit ImageId(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

}  // namespace ferry::appc
