// Internal helpers shared by the appc parsers (not part of the public API).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace ferry::appc::detail {

// Parses the string at `path` with T::parse, turning its error into "<path>: <message>".
template <typename T>
T parseString(const json::Json& j, std::string_view path) {
  const std::string& s = json::asString(j, path);
  try {
    return T::parse(s);
  } catch (const Error& e) {
    json::fail(path, e.what());
  }
}

template <typename T>
T parseField(json::Object& o, std::string_view key) {
  return parseString<T>(o.require(key), o.pathOf(key));
}

// An optional list: absent and (for fields that Go's encoder writes as null) JSON null are
// both "no list". Returns nullptr then, else the checked array.
const json::Json* optArray(json::Object& o, std::string_view key, bool nullIsAbsent = false);

std::vector<std::string> stringList(const json::Json& j, std::string_view path);
json::Json toJson(const std::vector<std::string>& v);

// A JSON object of free-form string values, in document order (userAnnotations, sysctl).
std::vector<std::pair<std::string, std::string>> stringMap(const json::Json& j,
                                                           std::string_view path);
json::Json toJson(const std::vector<std::pair<std::string, std::string>>& m);

bool isAbsolutePath(std::string_view p);
void requireAbsolutePath(const std::string& p, std::string_view path);

// Fails at list[i].name when a name repeats.
template <typename T, typename NameOf>
void requireUniqueNames(const std::vector<T>& items, std::string_view path, std::string_view what,
                        NameOf nameOf) {
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& n = nameOf(items[i]);
    if (!seen.insert(n).second) {
      json::fail(json::child(json::index(path, i), "name"),
                 "duplicate " + std::string(what) + " " + quote(n));
    }
  }
}

// Parses each element of a JSON array with T::fromJson, naming list[i] in errors.
template <typename T>
std::vector<T> listFromJson(const json::Json& a, std::string_view path) {
  std::vector<T> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(T::fromJson(a[i], json::index(path, i)));
  return out;
}

template <typename T>
json::Json listToJson(const std::vector<T>& v) {
  json::Json out = json::Json::array();
  for (const auto& item : v) out.push_back(item.toJson());
  return out;
}

}  // namespace ferry::appc::detail
