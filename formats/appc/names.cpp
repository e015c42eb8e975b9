#include "formats/appc/names.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Only [a-z0-9] and characters from `separators`, beginning and ending with a letter or digit.
// The spec's regular expression would also forbid two separators in a row, but its own
// examples ("example.com/~user/app_v1") and the reference implementation allow them.
bool isSeparatedWords(std::string_view s, std::string_view separators) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!isLowerAlnum(c) && separators.find(c) == std::string_view::npos) return false;
  }
  return true;
}

[[noreturn]] void invalid(std::string_view type, std::string_view s, std::string_view why) {
  throw Error(Errc::kInvalid,
              "invalid " + std::string(type) + " " + quote(s) + ": " + std::string(why));
}

}  // namespace

bool AcIdentifier::isValid(std::string_view s) { return isSeparatedWords(s, "-._~/"); }

AcIdentifier AcIdentifier::parse(std::string_view s) {
  if (s.empty()) invalid("AC Identifier", s, "must not be empty");
  if (!isValid(s)) {
    invalid("AC Identifier", s,
            "must be lowercase letters, digits and '-', '.', '_', '~', '/', beginning and "
            "ending with a letter or digit");
  }
  return AcIdentifier(std::string(s));
}

bool AcName::isValid(std::string_view s) { return isSeparatedWords(s, "-"); }

AcName AcName::parse(std::string_view s) {
  if (s.empty()) invalid("AC Name", s, "must not be empty");
  if (!isValid(s)) {
    invalid("AC Name", s,
            "must be lowercase letters, digits and '-', beginning and ending with a letter or "
            "digit");
  }
  return AcName(std::string(s));
}

std::optional<AcName> AcName::sanitize(std::string_view s) {
  std::string out;
  bool pendingDash = false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (isLowerAlnum(c)) {
      if (pendingDash && !out.empty()) out += '-';
      pendingDash = false;
      out += c;
    } else {
      pendingDash = true;
    }
  }
  if (out.empty()) return std::nullopt;
  return AcName(std::move(out));
}

bool AcKind::isValid(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

AcKind AcKind::parse(std::string_view s) {
  if (!isValid(s)) invalid("AC Kind", s, "must be a non-empty string of letters and digits");
  return AcKind(std::string(s));
}

}  // namespace ferry::appc
