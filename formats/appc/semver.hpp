// Semantic versions (SemVer 2.0.0), used for acVersion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::appc {

class SemVer {
 public:
  // MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]. Throws Error{kInvalid}.
  static SemVer parse(std::string_view s);

  uint64_t major() const { return major_; }
  uint64_t minor() const { return minor_; }
  uint64_t patch() const { return patch_; }
  const std::vector<std::string>& prerelease() const { return prerelease_; }
  const std::vector<std::string>& build() const { return build_; }
  const std::string& str() const { return text_; }

  // SemVer precedence: <0, 0, >0. Build metadata does not take part.
  int compare(const SemVer& other) const;

  // Equality is textual ("1.0.0+a" != "1.0.0+b"); use compare() for precedence.
  friend bool operator==(const SemVer& a, const SemVer& b) { return a.text_ == b.text_; }

 private:
  SemVer() = default;
  uint64_t major_ = 0, minor_ = 0, patch_ = 0;
  std::vector<std::string> prerelease_;
  std::vector<std::string> build_;
  std::string text_;
};

// The appc spec version ferry implements, written into the manifests it creates.
const SemVer& appcVersion();

}  // namespace ferry::appc
