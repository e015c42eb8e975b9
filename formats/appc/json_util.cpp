#include "formats/appc/json_util.hpp"

namespace ferry::appc::detail {

const json::Json* optArray(json::Object& o, std::string_view key, bool nullIsAbsent) {
  const json::Json* v = o.find(key);
  if (v == nullptr || (nullIsAbsent && v->is_null())) return nullptr;
  return &json::asArray(*v, o.pathOf(key));
}

std::vector<std::string> stringList(const json::Json& j, std::string_view path) {
  json::asArray(j, path);
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) out.push_back(json::asString(j[i], json::index(path, i)));
  return out;
}

json::Json toJson(const std::vector<std::string>& v) {
  json::Json out = json::Json::array();
  for (const auto& s : v) out.push_back(s);
  return out;
}

std::vector<std::pair<std::string, std::string>> stringMap(const json::Json& j,
                                                           std::string_view path) {
  json::asObject(j, path);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out.emplace_back(it.key(), json::asString(it.value(), json::child(path, it.key())));
  }
  return out;
}

json::Json toJson(const std::vector<std::pair<std::string, std::string>>& m) {
  json::Json out = json::Json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

bool isAbsolutePath(std::string_view p) { return !p.empty() && p.front() == '/'; }

void requireAbsolutePath(const std::string& p, std::string_view path) {
  if (!isAbsolutePath(p)) json::fail(path, "must be an absolute path, not " + quote(p));
}

}  // namespace ferry::appc::detail
