// A small JSON reader for the pod init, which must stay tiny (no nlohmann, no iostreams).
//
// The init reads three documents ferry wrote itself (runtime.json, cgroups.json and the
// annotations of each app's config.json), so this reader only needs to be correct, not fast or
// rich: it builds a plain tree and refuses malformed text — RFC 8259's grammar, UTF-8 in its
// shortest form, no duplicate keys, so that it accepts exactly what stage0's strict parser
// (common/json.hpp) accepts up to its smaller depth limit (tests/fuzz/fuzz_init_json.cpp checks
// both on the same inputs). Numbers keep their text; asInt() reads integers that fit in 64 bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::init {

struct JsonField;

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // a string's value, or a number's text
  std::vector<JsonValue> items;
  std::vector<JsonField> fields;  // in document order (a std::pair of an incomplete type would
                                  // not compile with clang and libstdc++)

  const JsonValue* get(std::string_view key) const;
  bool isString() const { return type == Type::kString; }
  bool isObject() const { return type == Type::kObject; }
  bool isArray() const { return type == Type::kArray; }
  std::optional<int64_t> asInt() const;
};

struct JsonField {
  std::string key;
  JsonValue value;
};

// nullopt when the text is not one well-formed JSON value.
std::optional<JsonValue> parseJson(std::string_view text);

// Appends s (UTF-8) as a JSON string literal (quotes included) to out.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace ferry::init
