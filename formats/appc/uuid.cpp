#include "formats/appc/uuid.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Uuid Uuid::parse(std::string_view s) {
  std::string hex;
  if (s.size() == 36) {
    for (size_t i = 0; i < s.size(); ++i) {
      bool dashPosition = i == 8 || i == 13 || i == 18 || i == 23;
      if ((s[i] == '-') != dashPosition) {
        throw Error(Errc::kInvalid, "invalid UUID " + quote(s) +
                                        ": must be of the form "
                                        "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
      }
      if (!dashPosition) hex += s[i];
    }
  } else if (s.size() == 32) {
    hex = s;
  } else {
    throw Error(Errc::kInvalid,
                "invalid UUID " + quote(s) + ": must be 32 hex digits, optionally with dashes");
  }
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 16; ++i) {
    int hi = hexValue(hex[2 * i]);
    int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      throw Error(Errc::kInvalid, "invalid UUID " + quote(s) + ": not a hex digit");
    }
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Uuid(bytes);
}

Uuid Uuid::fromBytes(const std::array<uint8_t, 16>& bytes) { return Uuid(bytes); }

Uuid Uuid::v4FromRandom(std::array<uint8_t, 16> random) {
  random[6] = static_cast<uint8_t>((random[6] & 0x0f) | 0x40);  // version 4
  random[8] = static_cast<uint8_t>((random[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid(random);
}

std::string Uuid::str() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kDigits[bytes_[i] >> 4];
    out += kDigits[bytes_[i] & 0x0f];
  }
  return out;
}

}  // namespace ferry::appc
