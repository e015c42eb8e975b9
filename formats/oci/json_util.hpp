// Internal helpers shared by the OCI parsers and serializers. Not part of the public API.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/json.hpp"
#include "formats/oci/parse_options.hpp"

namespace ferry::oci::detail {

using json::Json;
using json::Object;

// The value of an optional field, or nullptr when absent. The image-spec lets any optional field
// be null, "equivalent to being absent"; Docker writes such nulls ("Cmd": null), so treat them
// as absent everywhere.
const Json* opt(Object& o, std::string_view key);

std::optional<std::string> optString(Object& o, std::string_view key);
std::optional<bool> optBool(Object& o, std::string_view key);
std::optional<int64_t> optInt(Object& o, std::string_view key, int64_t min = INT64_MIN,
                              int64_t max = INT64_MAX);
std::optional<uint64_t> optUint(Object& o, std::string_view key, uint64_t max = UINT64_MAX);

std::vector<std::string> stringArray(const Json& j, std::string_view path);
std::optional<std::vector<std::string>> optStringArray(Object& o, std::string_view key);
std::map<std::string, std::string> stringMap(const Json& j, std::string_view path);
std::map<std::string, std::string> optStringMap(Object& o, std::string_view key);
// Go's map[string]struct{}: an object whose values are all {} (ExposedPorts, Volumes).
std::optional<std::set<std::string>> optEmptyObjectSet(Object& o, std::string_view key);

Digest digestAt(const Json& j, std::string_view path);
std::string mediaTypeAt(const Json& j, std::string_view path);

// Closes a parse of one object: in strict mode an unread field is an error naming its path;
// otherwise the unread fields are returned (an object, possibly empty) for the caller to keep.
Json finish(Object& o, const ParseOptions& opts);
// Appends kept unknown fields after the known ones.
void appendExtra(Json& out, const Json& extra);

Json toJson(const std::vector<std::string>& v);
Json toJson(const std::map<std::string, std::string>& m);
Json toJson(const std::set<std::string>& s);  // {"k":{},…}

template <typename T>
void put(Json& out, std::string_view key, const std::optional<T>& v) {
  if (v) out[std::string(key)] = *v;
}
inline void put(Json& out, std::string_view key, const std::optional<std::vector<std::string>>& v) {
  if (v) out[std::string(key)] = toJson(*v);
}
inline void putMap(Json& out, std::string_view key, const std::map<std::string, std::string>& m) {
  if (!m.empty()) out[std::string(key)] = toJson(m);
}

// Parses an array of objects with fn(const Json& element, std::string path).
template <typename Fn>
auto arrayOf(const Json& j, std::string_view path, Fn&& fn) {
  json::asArray(j, path);
  std::vector<decltype(fn(j, std::string()))> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) out.push_back(fn(j[i], json::index(path, i)));
  return out;
}

}  // namespace ferry::oci::detail
