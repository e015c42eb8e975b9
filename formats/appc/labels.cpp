#include "formats/appc/labels.hpp"

namespace ferry::appc {

void LabelPolicy::check(const AcIdentifier& n) {
  if (n.str() == "name") {
    throw Error(Errc::kInvalid,
                "a label may not be called \"name\" (the image name is not a label)");
  }
}

bool isValidEnvironmentName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string EnvironmentPolicy::parseName(std::string_view s) {
  if (!isValidEnvironmentName(s)) {
    throw Error(Errc::kInvalid, "invalid environment variable name " + quote(s) +
                                    ": must be letters, digits and '_', not beginning with a "
                                    "digit");
  }
  return std::string(s);
}

}  // namespace ferry::appc
