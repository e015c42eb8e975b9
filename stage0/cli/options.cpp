#include "stage0/cli/options.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace ferry::cli {

OptionParser::OptionParser(std::string usage, std::string summary, std::string details)
    : usage_(std::move(usage)), summary_(std::move(summary)), details_(std::move(details)) {}

void OptionParser::flag(std::string name, std::string help, bool* out) {
  flag(std::move(name), std::move(help), [out](bool v) { *out = v; });
}

void OptionParser::flag(std::string name, std::string help, std::function<void(bool)> set) {
  std::string n = name;
  add({std::move(name), "", std::move(help), [set = std::move(set), n](std::string_view v) {
         if (v.empty() || v == "true") {
           set(true);
         } else if (v == "false") {
           set(false);
         } else {
           throw UsageError("--" + n + ": want true or false, not " + quote(v));
         }
       }});
}

void OptionParser::value(std::string name, std::string valueName, std::string help,
                         std::string* out) {
  value(std::move(name), std::move(valueName), std::move(help),
        [out](std::string_view v) { *out = std::string(v); });
}

void OptionParser::value(std::string name, std::string valueName, std::string help,
                         std::function<void(std::string_view)> set) {
  add({std::move(name), std::move(valueName), std::move(help), std::move(set)});
}

void OptionParser::optionalValue(std::string name, std::string valueName, std::string help,
                                 std::function<void(std::string_view)> set) {
  add({std::move(name), std::move(valueName), std::move(help), std::move(set), true});
}

void OptionParser::add(Option o) {
  // Two flags of one name: the second could never be given (a programming error).
  if (lookup(o.name) != nullptr) throw std::logic_error("flag --" + o.name + " declared twice");
  options_.push_back(std::move(o));
}

const OptionParser::Option* OptionParser::lookup(std::string_view name) const {
  for (const auto& o : options_) {
    if (!o.name.empty() && o.name == name) return &o;
  }
  return nullptr;
}

namespace {

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = c, min = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n >= s.size() - i) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

void checkValue(std::string_view flag, std::string_view value) {
  if (!validUtf8(value)) throw UsageError("--" + std::string(flag) + ": the value is not UTF-8");
}

}  // namespace

void OptionParser::checkPositional(std::string_view word) {
  if (!validUtf8(word)) throw UsageError("an argument is not UTF-8");
}

bool OptionParser::takesValue(std::string_view name) const {
  const Option* o = lookup(name);
  return o != nullptr && !o->valueName.empty() && !o->optionalValue;
}

bool OptionParser::parseFlag(const std::vector<std::string>& args, size_t& i) {
  const std::string& a = args[i];
  if (a == "--help" || a == "-h") {
    help_ = true;
    return true;
  }
  if (a.size() < 2 || a[0] != '-' || a == "--" || a == "---") return false;
  if (a[1] != '-') {
    // A one-letter flag declared as such ("q") is also -q; none takes a value.
    const Option* shortFlag = a.size() == 2 ? lookup(std::string_view(a).substr(1)) : nullptr;
    if (shortFlag == nullptr || !shortFlag->valueName.empty()) {
      throw UsageError("unknown flag " + quote(a));
    }
    shortFlag->set("");
    return true;
  }
  std::string_view body(a);
  body.remove_prefix(2);
  auto eq = body.find('=');
  std::string_view name = body.substr(0, eq);
  const Option* o = lookup(name);
  if (o == nullptr) throw UsageError("unknown flag --" + std::string(name));
  std::string_view value;
  if (eq != std::string_view::npos) {
    value = body.substr(eq + 1);
  } else if (takesValue(name)) {
    if (i + 1 >= args.size()) throw UsageError("--" + std::string(name) + " needs a value");
    value = args[++i];
  }
  checkValue(name, value);
  o->set(value);
  return true;
}

std::vector<std::string> OptionParser::parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (parseFlag(args, i)) {
      if (help_) return {};
      continue;
    }
    if (a == "---") throw UsageError("unknown flag \"---\"");
    positional.push_back(a);
  }
  for (const auto& w : positional) checkPositional(w);
  auto n = static_cast<int>(positional.size());
  if (n < minPositionals_ || (maxPositionals_ >= 0 && n > maxPositionals_)) {
    throw UsageError("wrong number of arguments; usage: " + usage_);
  }
  finish();
  return positional;
}

namespace {

// Columns a string takes on a terminal: UTF-8 continuation bytes take none ("…" is one).
size_t columns(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

OptionParser::Definition OptionParser::definition() const {
  Definition d{usage_, summary_, details_, {}};
  std::string heading;
  for (const auto& o : options_) {
    if (o.name.empty()) {
      heading = o.help;
      continue;
    }
    d.flags.push_back({o.name, o.valueName, o.help, o.optionalValue, heading});
  }
  return d;
}

std::string OptionParser::helpText() const {
  if (captured != nullptr) *captured = definition();
  // A flag wider than kMaxLeft gets its text on the next line, at the column of the others.
  constexpr size_t kMaxLeft = 32;
  std::string out = "Usage: " + usage_ + "\n\n" + summary_ + "\n";
  if (!details_.empty()) out += "\n" + details_ + "\n";
  if (options_.empty()) return out;
  auto left = [](const Option& o) {
    if (o.optionalValue) return "--" + o.name + "[=" + o.valueName + "]";
    return "--" + o.name + (o.valueName.empty() ? "" : "=" + o.valueName);
  };
  size_t width = columns("--help");
  for (const auto& o : options_) {
    if (!o.name.empty() && columns(left(o)) <= kMaxLeft) width = std::max(width, columns(left(o)));
  }
  auto line = [&](const std::string& l, const std::string& help) {
    size_t c = columns(l);
    if (c > width) return "  " + l + "\n" + std::string(width + 4, ' ') + help + "\n";
    return "  " + l + std::string(width - c + 2, ' ') + help + "\n";
  };
  if (!options_.front().name.empty()) out += "\nFlags:\n";
  for (const auto& o : options_) {
    out += o.name.empty() ? "\n" + o.help + ":\n" : line(left(o), o.help);
  }
  out += line("--help", "show this help");
  return out;
}

bool OptionParser::parseOrHelp(const std::vector<std::string>& args, std::ostream& out,
                               std::vector<std::string>* positionals) {
  auto parsed = parse(args);
  if (help_) {
    out << helpText();
    return false;
  }
  if (positionals != nullptr) *positionals = std::move(parsed);
  return true;
}

}  // namespace ferry::cli
