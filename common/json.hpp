// Strict JSON for ferry's manifests.
//
// Json is nlohmann's ordered_json so that a document we serialize keeps a stable, spec-like field
// order. parse() rejects duplicate keys and invalid UTF-8. Object walks one JSON object during a
// parse: every field that is read is marked, and done() turns any field nobody read into an
// "unknown field" error. Every error names the JSON path of the culprit, e.g.
// `app.isolators[2].value.limit: must be a quantity`.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ferry::json {

using Json = nlohmann::ordered_json;

// parse() rejects arrays and objects nested deeper than this (ferry's documents nest < 10 deep).
constexpr size_t kMaxDepth = 256;

// Parses a whole document. `what` names it in errors ("image manifest", a file name, ...).
Json parse(std::string_view text, std::string_view what);

// Compact serialization (the form hashed for OCI blobs) or pretty with two-space indentation.
std::string dump(const Json& j, bool pretty = false);

// What ferry prints as JSON for the operator: dump(), with the characters the encoder leaves
// raw but a terminal may act on (DEL, C1 controls U+0080-U+009F: U+009B is CSI) written as
// \u escapes; the document reads back the same.
std::string print(const Json& j, bool pretty = false);

// The same escaping for JSON text ferry did not encode (an image's manifest as stored): DEL and
// C1 can only occur inside its strings, where \u escapes mean the same characters.
std::string escapeTerminalControls(std::string text);

// JSON paths: child("app", "exec") == "app.exec"; child("", "x") == "x";
// keys that are not identifiers are bracketed: child("a", "x.y") == "a[\"x.y\"]".
std::string child(std::string_view path, std::string_view key);
std::string index(std::string_view path, size_t i);

// Throws Error{kInvalid, "<path>: <message>"} ("<message>" alone for the root).
[[noreturn]] void fail(std::string_view path, std::string_view message);

std::string_view typeName(const Json& j);

// Checked accessors for a value at `path`.
const std::string& asString(const Json& j, std::string_view path);
bool asBool(const Json& j, std::string_view path);
int64_t asInt(const Json& j, std::string_view path, int64_t min = INT64_MIN,
              int64_t max = INT64_MAX);
uint64_t asUint(const Json& j, std::string_view path, uint64_t max = UINT64_MAX);
const Json& asArray(const Json& j, std::string_view path);
const Json& asObject(const Json& j, std::string_view path);

class Object {
 public:
  Object(const Json& j, std::string path);
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const { return child(path_, key); }
  const Json& json() const { return j_; }

  bool has(std::string_view key) const;
  // Marks the key as read. nullptr when absent. A JSON null counts as present.
  const Json* find(std::string_view key);
  const Json& require(std::string_view key);

  std::string string(std::string_view key) { return asString(require(key), pathOf(key)); }
  std::optional<std::string> optString(std::string_view key);
  bool boolean(std::string_view key) { return asBool(require(key), pathOf(key)); }
  std::optional<bool> optBool(std::string_view key);
  int64_t integer(std::string_view key, int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
    return asInt(require(key), pathOf(key), min, max);
  }
  std::optional<int64_t> optInteger(std::string_view key, int64_t min = INT64_MIN,
                                    int64_t max = INT64_MAX);
  uint64_t uinteger(std::string_view key, uint64_t max = UINT64_MAX) {
    return asUint(require(key), pathOf(key), max);
  }
  std::optional<uint64_t> optUinteger(std::string_view key, uint64_t max = UINT64_MAX);

  // Marks every remaining key as read (for objects whose keys are free-form, e.g. annotations).
  void ignoreRest();
  // Throws "<path>.<key>: unknown field" for the first key that was never read.
  void done() const;
  // The keys never read, in document order (for specs that say to keep or ignore unknown fields).
  std::vector<std::string> unreadKeys() const;

 private:
  const Json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace ferry::json
