#include "stage0/cli/options.hpp"

#include <algorithm>

namespace ferry::cli {

OptionParser::OptionParser(std::string usage, std::string summary, std::string details)
    : usage_(std::move(usage)), summary_(std::move(summary)), details_(std::move(details)) {}

void OptionParser::flag(std::string name, std::string help, bool* out) {
  options_.push_back({std::move(name), "", std::move(help), [out, n = name](std::string_view v) {
                        if (v.empty() || v == "true") {
                          *out = true;
                        } else if (v == "false") {
                          *out = false;
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
  options_.push_back({std::move(name), std::move(valueName), std::move(help), std::move(set)});
}

void OptionParser::optionalValue(std::string name, std::string valueName, std::string help,
                                 std::function<void(std::string_view)> set) {
  options_.push_back(
      {std::move(name), std::move(valueName), std::move(help), std::move(set), true});
}

const OptionParser::Option* OptionParser::lookup(std::string_view name) const {
  for (const auto& o : options_) {
    if (!o.name.empty() && o.name == name) return &o;
  }
  return nullptr;
}

std::vector<std::string> OptionParser::parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--help" || a == "-h") {
      help_ = true;
      return {};
    }
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      if (a.size() > 1 && a[0] == '-') throw UsageError("unknown flag " + quote(a));
      positional.push_back(a);
      continue;
    }
    std::string_view body(a);
    body.remove_prefix(2);
    auto eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    const Option* o = lookup(name);
    if (o == nullptr) throw UsageError("unknown flag --" + std::string(name));
    if (o->valueName.empty() || o->optionalValue) {
      o->set(eq == std::string_view::npos ? std::string_view() : body.substr(eq + 1));
    } else if (eq != std::string_view::npos) {
      o->set(body.substr(eq + 1));
    } else {
      if (i + 1 >= args.size()) throw UsageError("--" + std::string(name) + " needs a value");
      o->set(args[++i]);
    }
  }
  auto n = static_cast<int>(positional.size());
  if (n < minPositionals_ || (maxPositionals_ >= 0 && n > maxPositionals_)) {
    throw UsageError("wrong number of arguments; usage: " + usage_);
  }
  return positional;
}

namespace {

// Columns a string takes on a terminal: UTF-8 continuation bytes take none ("…" is one).
size_t columns(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string OptionParser::helpText() const {
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
