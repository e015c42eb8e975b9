#include "formats/appc/manifest_common.hpp"

#include "common/error.hpp"
#include "formats/appc/json_util.hpp"
#include "formats/appc/os_arch.hpp"

namespace ferry::appc::detail {

void requireKind(json::Object& o, std::string_view expected) {
  AcKind kind = parseField<AcKind>(o, "acKind");
  if (kind.str() != expected) {
    json::fail(o.pathOf("acKind"), "must be " + quote(expected) + ", not " + quote(kind.str()));
  }
}

Labels labelsFromJson(const json::Json& j, std::string_view path) {
  Labels labels = Labels::fromJson(j, path);
  try {
    validateOsArch(labels);
  } catch (const Error& e) {
    json::fail(path, e.what());
  }
  return labels;
}

}  // namespace ferry::appc::detail
