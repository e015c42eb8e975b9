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

}  // namespace ferry::translate
