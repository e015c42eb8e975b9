// Resource quantities in the Kubernetes notation used by appc's resource isolators.
//
// A quantity is a signed decimal number ("1", "0.5", ".5", "2.") followed by at most one
// suffix: a binary multiple (Ki Mi Gi Ti Pi Ei), a decimal SI multiple (n u m "" k M G T P E) or
// a decimal exponent (e3, E-2). The original text is kept so that a manifest round-trips byte
// for byte; value() and milliValue() give the integer the isolator means.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::appc {

class Quantity {
 public:
  // Throws Error{kInvalid}; also when the value, in base units, does not fit in an int64.
  static Quantity parse(std::string_view s);

  const std::string& str() const { return text_; }
  // The value in base units (bytes, cores), rounded up to an integer ("1.5" → 2, "100m" → 1).
  int64_t value() const { return value_; }
  // The value in thousandths, rounded up ("250m" → 250, "1.5" → 1500); nullopt on overflow.
  std::optional<int64_t> milliValue() const { return milli_; }
  bool negative() const { return value_ < 0 || (milli_ && *milli_ < 0); }

  // Textual equality: "1Ki" and "1024" are different documents.
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.text_ == b.text_; }

 private:
  Quantity() = default;
  std::string text_;
  int64_t value_ = 0;
  std::optional<int64_t> milli_;
};

}  // namespace ferry::appc
