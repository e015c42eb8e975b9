#include "formats/translate/ulimit.hpp"

#include <algorithm>
#include <charconv>

#include "common/error.hpp"

namespace ferry::translate {

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A decimal count, "unlimited" or "-1"; nullopt for anything else.
std::optional<uint64_t> limitValue(std::string_view s) {
  if (s == "unlimited" || s == "-1") return kUnlimited;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string limitText(uint64_t v) { return v == kUnlimited ? "unlimited" : std::to_string(v); }

}  // namespace

const std::vector<std::string>& ulimitTypes() {
  static const std::vector<std::string> kTypes = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  return kTypes;
}

Ulimit Ulimit::parseValue(std::string_view type, std::string_view value) {
  const auto& types = ulimitTypes();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    throw Error(Errc::kInvalid,
                "unknown limit type " + quote(type) + " (want one of " + joined(types) + ")");
  }
  auto colon = value.find(':');
  std::string_view softText = value.substr(0, colon);
  std::string_view hardText = colon == std::string_view::npos ? softText : value.substr(colon + 1);
  auto soft = limitValue(softText);
  auto hard = limitValue(hardText);
  if (!soft || !hard) {
    throw Error(
        Errc::kInvalid,
        std::string(type) + ": want SOFT[:HARD] (numbers, -1 or unlimited), not " + quote(value));
  }
  if (*soft > *hard) {
    throw Error(Errc::kInvalid, std::string(type) + ": the soft limit " + limitText(*soft) +
                                    " is above the hard limit " + limitText(*hard));
  }
  return Ulimit{std::string(type), *soft, *hard};
}

Ulimit Ulimit::parse(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw Error(Errc::kInvalid,
                "want TYPE=SOFT[:HARD] (e.g. nofile=1024:2048), not " + quote(text));
  }
  return parseValue(text.substr(0, eq), text.substr(eq + 1));
}

std::string Ulimit::valueText() const { return limitText(soft) + ":" + limitText(hard); }

std::string Ulimit::rlimitName() const {
  std::string out = "RLIMIT_";
  for (char c : type) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<oci::Rlimit> rlimitsFromAnnotations(const appc::Annotations& annotations,
                                                std::string_view path) {
  std::vector<oci::Rlimit> out;
  for (const auto& a : annotations) {
    std::string_view name = a.name.str();
    if (!name.starts_with(kUlimitAnnotationPrefix)) continue;
    Ulimit u;
    try {
      u = Ulimit::parseValue(name.substr(kUlimitAnnotationPrefix.size()), a.value);
    } catch (const Error& e) {
      throw Error(Errc::kInvalid, std::string(path) + "[" + std::string(name) + "]: " + e.what());
    }
    out.push_back(oci::Rlimit{u.rlimitName(), u.hard, u.soft});
  }
  return out;
}

int64_t parsePidsLimit(std::string_view text) {
  if (text == "max" || text == "unlimited" || text == "-1") return kPidsMax;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 1) {
    throw Error(Errc::kInvalid,
                "want a number of tasks ≥ 1, or max (-1, unlimited), not " + quote(text));
  }
  return v;
}

std::string pidsLimitText(int64_t limit) {
  return limit == kPidsMax ? "max" : std::to_string(limit);
}

std::optional<int64_t> pidsLimitFromAnnotations(const appc::Annotations& annotations,
                                                std::string_view path) {
  auto v = annotations.get(kPidsLimitAnnotation);
  if (!v) return std::nullopt;
  try {
    return parsePidsLimit(*v);
  } catch (const Error& e) {
    throw Error(Errc::kInvalid,
                std::string(path) + "[" + std::string(kPidsLimitAnnotation) + "]: " + e.what());
  }
}

}  // namespace ferry::translate
