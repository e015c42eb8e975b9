#include "formats/appc/semver.hpp"

#include "common/error.hpp"

namespace ferry::appc {

namespace {

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool isIdentifierChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

[[noreturn]] void invalid(std::string_view s, std::string_view why) {
  throw Error(Errc::kInvalid, "invalid version " + quote(s) + ": " + std::string(why));
}

uint64_t numeric(std::string_view whole, std::string_view part, std::string_view what) {
  if (!isDigits(part)) invalid(whole, std::string(what) + " must be a number");
  if (part.size() > 1 && part[0] == '0') {
    invalid(whole, std::string(what) + " must not have leading zeros");
  }
  if (part.size() > 19) invalid(whole, std::string(what) + " is too large");
  uint64_t v = 0;
  for (char c : part) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

std::vector<std::string> identifiers(std::string_view whole, std::string_view part,
                                     bool prerelease) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = part.find('.', start);
    std::string_view id = part.substr(start, dot == std::string_view::npos ? dot : dot - start);
    std::string_view what = prerelease ? "pre-release" : "build metadata";
    if (id.empty()) invalid(whole, std::string(what) + " has an empty identifier");
    for (char c : id) {
      if (!isIdentifierChar(c)) {
        invalid(whole, std::string(what) + " may only contain [0-9A-Za-z-] and dots");
      }
    }
    if (prerelease && isDigits(id) && id.size() > 1 && id[0] == '0') {
      invalid(whole, "numeric pre-release identifiers must not have leading zeros");
    }
    out.emplace_back(id);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

int compareIdentifiers(const std::string& a, const std::string& b) {
  bool an = isDigits(a), bn = isDigits(b);
  if (an && bn) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  }
  if (an != bn) return an ? -1 : 1;  // numeric identifiers have lower precedence
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

SemVer SemVer::parse(std::string_view s) {
  if (s.empty()) invalid(s, "must not be empty");
  SemVer v;
  v.text_ = s;
  std::string_view rest = s;
  if (auto plus = rest.find('+'); plus != std::string_view::npos) {
    v.build_ = identifiers(s, rest.substr(plus + 1), false);
    rest = rest.substr(0, plus);
  }
  if (auto dash = rest.find('-'); dash != std::string_view::npos) {
    v.prerelease_ = identifiers(s, rest.substr(dash + 1), true);
    rest = rest.substr(0, dash);
  }
  auto dot1 = rest.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : rest.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) invalid(s, "must be MAJOR.MINOR.PATCH");
  v.major_ = numeric(s, rest.substr(0, dot1), "major version");
  v.minor_ = numeric(s, rest.substr(dot1 + 1, dot2 - dot1 - 1), "minor version");
  v.patch_ = numeric(s, rest.substr(dot2 + 1), "patch version");
  return v;
}

int SemVer::compare(const SemVer& o) const {
  if (major_ != o.major_) return major_ < o.major_ ? -1 : 1;
  if (minor_ != o.minor_) return minor_ < o.minor_ ? -1 : 1;
  if (patch_ != o.patch_) return patch_ < o.patch_ ? -1 : 1;
  // A version without pre-release identifiers has higher precedence than one with them.
  if (prerelease_.empty() || o.prerelease_.empty()) {
    if (prerelease_.empty() == o.prerelease_.empty()) return 0;
    return prerelease_.empty() ? 1 : -1;
  }
  for (size_t i = 0; i < prerelease_.size() && i < o.prerelease_.size(); ++i) {
    if (int c = compareIdentifiers(prerelease_[i], o.prerelease_[i]); c != 0) return c;
  }
  if (prerelease_.size() == o.prerelease_.size()) return 0;
  return prerelease_.size() < o.prerelease_.size() ? -1 : 1;
}

const SemVer& appcVersion() {
  static const SemVer kVersion = SemVer::parse("0.8.11");
  return kVersion;
}

}  // namespace ferry::appc
