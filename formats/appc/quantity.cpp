#include "formats/appc/quantity.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {

using Int128 = __int128;
constexpr Int128 kLimit = static_cast<Int128>(1) << 100;  // far above int64, far below overflow

[[noreturn]] void invalid(std::string_view s, std::string_view why) {
  throw Error(Errc::kInvalid, "invalid quantity " + quote(s) + ": " + std::string(why));
}

// ceil(mantissa * 10^exp10 * 2^exp2) for a non-negative mantissa; nullopt above INT64_MAX.
std::optional<int64_t> scaleUp(Int128 mantissa, int exp10, int exp2) {
  Int128 n = mantissa;
  for (int i = 0; i < exp2; ++i) {
    n *= 2;
    if (n > kLimit) return std::nullopt;
  }
  for (int i = 0; i < exp10; ++i) {
    n *= 10;
    if (n > kLimit) return std::nullopt;
  }
  if (exp10 < 0) {
    if (-exp10 > 36) {
      n = n > 0 ? 1 : 0;  // a tiny positive value rounds up to one unit
    } else {
      Int128 divisor = 1;
      for (int i = 0; i < -exp10; ++i) divisor *= 10;
      n = n / divisor + (n % divisor != 0 ? 1 : 0);
    }
  }
  if (n > INT64_MAX) return std::nullopt;
  return static_cast<int64_t>(n);
}

}  // namespace

Quantity Quantity::parse(std::string_view s) {
  if (s.empty()) invalid(s, "must not be empty");
  size_t i = 0;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') {
    negative = s[i] == '-';
    ++i;
  }
  // Mantissa: digits with at most one '.', at least one digit.
  Int128 mantissa = 0;
  int fractionDigits = 0;
  int significant = 0;
  bool sawDigit = false, sawDot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      sawDigit = true;
      if (mantissa != 0 || c != '0') ++significant;
      if (significant > 30) invalid(s, "too many digits");
      mantissa = mantissa * 10 + (c - '0');
      if (sawDot) ++fractionDigits;
    } else if (c == '.' && !sawDot) {
      sawDot = true;
    } else {
      break;
    }
  }
  if (!sawDigit) invalid(s, "must begin with a number");

  std::string_view suffix = s.substr(i);
  int exp10 = -fractionDigits;
  int exp2 = 0;
  if (suffix.empty()) {
  } else if (suffix == "n") {
    exp10 -= 9;
  } else if (suffix == "u") {
    exp10 -= 6;
  } else if (suffix == "m") {
    exp10 -= 3;
  } else if (suffix == "k") {
    exp10 += 3;
  } else if (suffix == "M") {
    exp10 += 6;
  } else if (suffix == "G") {
    exp10 += 9;
  } else if (suffix == "T") {
    exp10 += 12;
  } else if (suffix == "P") {
    exp10 += 15;
  } else if (suffix == "E") {
    exp10 += 18;
  } else if (suffix.size() == 2 && suffix[1] == 'i' &&
             std::string_view("KMGTPE").find(suffix[0]) != std::string_view::npos) {
    exp2 = 10 * (static_cast<int>(std::string_view("KMGTPE").find(suffix[0])) + 1);
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view exponent = suffix.substr(1);
    bool negExp = false;
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
      negExp = exponent[0] == '-';
      exponent.remove_prefix(1);
    }
    if (exponent.empty() || exponent.size() > 3) invalid(s, "bad exponent");
    int e = 0;
    for (char c : exponent) {
      if (c < '0' || c > '9') invalid(s, "bad exponent");
      e = e * 10 + (c - '0');
    }
    exp10 += negExp ? -e : e;
  } else {
    invalid(s, "unknown suffix " + quote(suffix) +
                   " (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent)");
  }

  Quantity q;
  q.text_ = s;
  auto value = scaleUp(mantissa, exp10, exp2);
  if (!value) invalid(s, "too large");
  q.value_ = negative ? -*value : *value;
  q.milli_ = scaleUp(mantissa, exp10 + 3, exp2);
  if (q.milli_ && negative) q.milli_ = -*q.milli_;
  return q;
}

}  // namespace ferry::appc
