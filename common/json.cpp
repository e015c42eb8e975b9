#include "common/json.hpp"

#include <optional>
#include <vector>

#include "common/error.hpp"

namespace ferry::json {

namespace {
bool isIdentifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string cleanParseMessage(std::string msg) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; users do not need it.
  if (!msg.empty() && msg[0] == '[') {
    auto end = msg.find("] ");
    if (end != std::string::npos) msg.erase(0, end + 2);
  }
  return msg;
}
}  // namespace

Json parse(std::string_view text, std::string_view what) {
  // Duplicate keys are legal JSON to nlohmann (the last wins) but ambiguous for a manifest:
  // two parsers could read two different documents. Track the keys of each open object.
  std::vector<std::set<std::string>> keys;
  std::optional<std::string> duplicate;  // the empty key is a key too
  auto callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        keys.emplace_back();
        // Copying, comparing and dumping a Json recurse, and a pretty dump grows with the
        // square of the depth: a few KB of brackets must not overflow a stack or take minutes.
        if (keys.size() > kMaxDepth) {
          throw Error(Errc::kInvalid, "cannot parse " + std::string(what) +
                                          ": nested deeper than " + std::to_string(kMaxDepth) +
                                          " levels");
        }
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of the input, so "{}\0anything" would parse
  // as "{}". JSON text never holds a raw NUL (not even in a string): refuse it.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    throw Error(Errc::kInvalid, "cannot parse " + std::string(what) + ": NUL byte at offset " +
                                    std::to_string(nul));
  }
  Json j;
  try {
    j = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                    /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    throw Error(Errc::kInvalid,
                "cannot parse " + std::string(what) + ": " + cleanParseMessage(e.what()));
  }
  if (duplicate) {
    throw Error(Errc::kInvalid,
                "cannot parse " + std::string(what) + ": duplicate key " + quote(*duplicate));
  }
  return j;
}

std::string dump(const Json& j, bool pretty) {
  return j.dump(pretty ? 2 : -1, ' ', false, Json::error_handler_t::strict);
}

std::string escapeTerminalControls(std::string text) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  for (; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x7f) break;
    if (c == 0xc2 && i + 1 < text.size() &&
        (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80)
      break;
  }
  if (i == text.size()) return text;  // the common case: nothing to escape, no copy
  std::string out(text, 0, i);
  out.reserve(text.size() + 16);
  for (; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    unsigned cp = 0;
    if (c == 0x7f) {
      cp = 0x7f;
    } else if (c == 0xc2 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80) {
      cp = static_cast<unsigned char>(text[++i]);  // U+0080-U+009F
    } else {
      out += text[i];
      continue;
    }
    out += "\\u00";
    out += kHex[cp >> 4];
    out += kHex[cp & 0xf];
  }
  return out;
}

std::string print(const Json& j, bool pretty) { return escapeTerminalControls(dump(j, pretty)); }

std::string child(std::string_view path, std::string_view key) {
  std::string out(path);
  if (isIdentifier(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += quote(key);
    out += ']';
  }
  return out;
}

std::string index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

void fail(std::string_view path, std::string_view message) {
  if (path.empty()) throw Error(Errc::kInvalid, std::string(message));
  throw Error(Errc::kInvalid, std::string(path) + ": " + std::string(message));
}

std::string_view typeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

namespace {
[[noreturn]] void wrongType(const Json& j, std::string_view path, std::string_view want) {
  fail(path, "must be " + std::string(want) + ", not " + std::string(typeName(j)));
}
}  // namespace

const std::string& asString(const Json& j, std::string_view path) {
  if (!j.is_string()) wrongType(j, path, "a string");
  return j.get_ref<const std::string&>();
}

bool asBool(const Json& j, std::string_view path) {
  if (!j.is_boolean()) wrongType(j, path, "a boolean");
  return j.get<bool>();
}

int64_t asInt(const Json& j, std::string_view path, int64_t min, int64_t max) {
  int64_t v;
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) fail(path, "is out of range");
    v = static_cast<int64_t>(u);
  } else if (j.is_number_integer()) {
    v = j.get<int64_t>();
  } else {
    wrongType(j, path, "an integer");
  }
  if (v < min || v > max) {
    fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return v;
}

uint64_t asUint(const Json& j, std::string_view path, uint64_t max) {
  if (j.is_number_integer() && !j.is_number_unsigned() && j.get<int64_t>() < 0) {
    fail(path, "must not be negative");
  }
  if (!j.is_number_unsigned() && !j.is_number_integer()) wrongType(j, path, "an integer");
  uint64_t v = j.get<uint64_t>();
  if (v > max) fail(path, "must be at most " + std::to_string(max));
  return v;
}

const Json& asArray(const Json& j, std::string_view path) {
  if (!j.is_array()) wrongType(j, path, "an array");
  return j;
}

const Json& asObject(const Json& j, std::string_view path) {
  if (!j.is_object()) wrongType(j, path, "an object");
  return j;
}

Object::Object(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
  asObject(j_, path_.empty() ? std::string_view("document") : std::string_view(path_));
}

bool Object::has(std::string_view key) const { return j_.find(key) != j_.end(); }

const Json* Object::find(std::string_view key) {
  auto it = j_.find(key);
  if (it == j_.end()) return nullptr;
  seen_.emplace(key);
  return &*it;
}

const Json& Object::require(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) fail(pathOf(key), "required field is missing");
  return *v;
}

std::optional<std::string> Object::optString(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  return asString(*v, pathOf(key));
}

std::optional<bool> Object::optBool(std::string_view key) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  return asBool(*v, pathOf(key));
}

std::optional<int64_t> Object::optInteger(std::string_view key, int64_t min, int64_t max) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  return asInt(*v, pathOf(key), min, max);
}

std::optional<uint64_t> Object::optUinteger(std::string_view key, uint64_t max) {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  return asUint(*v, pathOf(key), max);
}

void Object::ignoreRest() {
  for (auto it = j_.begin(); it != j_.end(); ++it) seen_.insert(it.key());
}

void Object::done() const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (seen_.find(it.key()) == seen_.end()) fail(child(path_, it.key()), "unknown field");
  }
}

std::vector<std::string> Object::unreadKeys() const {
  std::vector<std::string> keys;
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (seen_.find(it.key()) == seen_.end()) keys.push_back(it.key());
  }
  return keys;
}

}  // namespace ferry::json
