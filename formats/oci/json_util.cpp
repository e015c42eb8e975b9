#include "formats/oci/json_util.hpp"

#include "common/error.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci::detail {

const Json* opt(Object& o, std::string_view key) {
  const Json* v = o.find(key);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

std::optional<std::string> optString(Object& o, std::string_view key) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  return json::asString(*v, o.pathOf(key));
}

std::optional<bool> optBool(Object& o, std::string_view key) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  return json::asBool(*v, o.pathOf(key));
}

std::optional<int64_t> optInt(Object& o, std::string_view key, int64_t min, int64_t max) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  return json::asInt(*v, o.pathOf(key), min, max);
}

std::optional<uint64_t> optUint(Object& o, std::string_view key, uint64_t max) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  return json::asUint(*v, o.pathOf(key), max);
}

std::vector<std::string> stringArray(const Json& j, std::string_view path) {
  json::asArray(j, path);
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) out.push_back(json::asString(j[i], json::index(path, i)));
  return out;
}

std::optional<std::vector<std::string>> optStringArray(Object& o, std::string_view key) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  return stringArray(*v, o.pathOf(key));
}

std::map<std::string, std::string> stringMap(const Json& j, std::string_view path) {
  json::asObject(j, path);
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out.emplace(it.key(), json::asString(it.value(), json::child(path, it.key())));
  }
  return out;
}

std::map<std::string, std::string> optStringMap(Object& o, std::string_view key) {
  const Json* v = opt(o, key);
  if (v == nullptr) return {};
  return stringMap(*v, o.pathOf(key));
}

std::optional<std::set<std::string>> optEmptyObjectSet(Object& o, std::string_view key) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  std::string path = o.pathOf(key);
  json::asObject(*v, path);
  std::set<std::string> out;
  for (auto it = v->begin(); it != v->end(); ++it) {
    std::string p = json::child(path, it.key());
    json::asObject(it.value(), p);
    if (!it.value().empty()) json::fail(p, "must be an empty object");
    out.insert(it.key());
  }
  return out;
}

std::string mediaTypeAt(const Json& j, std::string_view path) {
  const std::string& s = json::asString(j, path);
  if (!isValidMediaType(s)) json::fail(path, "invalid media type " + quote(s));
  return s;
}

Json finish(Object& o, const ParseOptions& opts) {
  if (opts.strict) {
    o.done();
    return Json::object();
  }
  Json extra = Json::object();
  for (const std::string& key : o.unreadKeys()) extra[key] = o.json()[key];
  return extra;
}

void appendExtra(Json& out, const Json& extra) {
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (!out.contains(it.key())) out[it.key()] = it.value();
  }
}

Json toJson(const std::vector<std::string>& v) {
  Json out = Json::array();
  for (const auto& s : v) out.push_back(s);
  return out;
}

Json toJson(const std::map<std::string, std::string>& m) {
  Json out = Json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

Json toJson(const std::set<std::string>& s) {
  Json out = Json::object();
  for (const auto& k : s) out[k] = Json::object();
  return out;
}

}  // namespace ferry::oci::detail
