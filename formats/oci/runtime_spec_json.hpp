// Internal: pieces of the config.json parser shared by runtime_spec.cpp and
// runtime_spec_linux.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/json_util.hpp"
#include "formats/oci/runtime_spec.hpp"

namespace ferry::oci::detail {

// Fails with "<path>: unknown <what> "<value>"" unless valid(value).
void checkName(bool valid, std::string_view path, std::string_view what, std::string_view value);
// A string array whose entries must satisfy valid(); optionally without duplicates.
std::vector<std::string> namesAt(const Json& j, std::string_view path,
                                 bool (*valid)(std::string_view), std::string_view what,
                                 bool unique);

IdMapping idMappingFromJson(const Json& j, const std::string& path, const ParseOptions& opts);
Json idMappingToJson(const IdMapping& m);
std::vector<IdMapping> optIdMappings(Object& o, std::string_view key, const ParseOptions& opts);

// The end of one object: unknown fields are errors when strict, ignored otherwise.
inline void closeObject(const Object& o, const ParseOptions& opts) {
  if (opts.strict) o.done();
}

// Adapts fn(json, path, opts) to arrayOf's fn(json, path).
template <typename Fn>
auto withOpts(Fn fn, const ParseOptions& opts) {
  return [fn, &opts](const Json& j, const std::string& p) { return fn(j, p, opts); };
}
Json idMappingsToJson(const std::vector<IdMapping>& v);

// An opaque value kept verbatim; must be an object (or an array if allowArray).
std::optional<Json> optOpaque(Object& o, std::string_view key, bool allowArray = false);

Linux linuxFromJson(const Json& j, const std::string& path, const ParseOptions& opts);
Json linuxToJson(const Linux& l);

}  // namespace ferry::oci::detail
