// A small JSON reader for the pod init, which must stay tiny (no nlohmann, no iostreams).
//
// The init reads three documents ferry wrote itself (runtime.json, cgroups.json and the
// annotations of each app's config.json), so this reader only needs to be correct, not fast or
// rich: it builds a plain tree and refuses malformed text. Numbers keep their text; asInt() reads
// integers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::init {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // a string's value, or a number's text
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> fields;

  const JsonValue* get(std::string_view key) const;
  bool isString() const { return type == Type::kString; }
  bool isObject() const { return type == Type::kObject; }
  bool isArray() const { return type == Type::kArray; }
  std::optional<int64_t> asInt() const;
};

// nullopt when the text is not one well-formed JSON value.
std::optional<JsonValue> parseJson(std::string_view text);

// Appends s as a JSON string literal (quotes included) to out.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace ferry::init
