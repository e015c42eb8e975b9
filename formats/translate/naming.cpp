#include "formats/translate/naming.hpp"

namespace ferry::translate {

std::string volumeName(std::string_view path, const std::set<std::string>& taken) {
  std::string base = "volume";
  std::string word;
  for (char c : path) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
      alnum = true;
    }
    if (alnum) {
      word += c;
    } else if (!word.empty()) {
      base += "-" + word;
      word.clear();
    }
  }
  if (!word.empty()) base += "-" + word;
  std::string name = base;
  for (int i = 2; taken.count(name) != 0; ++i) name = base + "-" + std::to_string(i);
  return name;
}

std::string portName(std::string_view protocol, uint32_t port) {
  return std::string(protocol) + "-" + std::to_string(port);
}

bool looksLikeRfc3339(std::string_view s) {
  if (s.size() < 20) return false;
  auto digits = [&](size_t at, size_t n) {
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  return digits(0, 4) && s[4] == '-' && digits(5, 2) && s[7] == '-' && digits(8, 2) &&
         (s[10] == 'T' || s[10] == 't') && digits(11, 2) && s[13] == ':' && digits(14, 2) &&
         s[16] == ':' && digits(17, 2) &&
         (s.back() == 'Z' || s.back() == 'z' ||
          s.find_first_of("+-", 19) != std::string_view::npos);
}

}  // namespace ferry::translate
