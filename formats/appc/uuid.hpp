// Pod UUIDs (RFC 4122), canonical form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in lowercase.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::appc {

class Uuid {
 public:
  // Accepts the canonical form in either case, or 32 hex digits without dashes.
  static Uuid parse(std::string_view s);  // throws Error{kInvalid}
  static Uuid fromBytes(const std::array<uint8_t, 16>& bytes);
  // A version 4 UUID from 16 random bytes supplied by the caller (formats/ does no I/O).
  static Uuid v4FromRandom(std::array<uint8_t, 16> random);

  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string str() const;  // canonical lowercase with dashes

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  explicit Uuid(const std::array<uint8_t, 16>& b) : bytes_(b) {}
  std::array<uint8_t, 16> bytes_;
};

}  // namespace ferry::appc
