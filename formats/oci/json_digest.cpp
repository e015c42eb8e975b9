// digestAt, apart from the other JSON helpers: it is the one that needs common/digest (OpenSSL),
// which ferry_formats_oci_runtime (config.json alone, for the static ferry-stage2) must not pull.
#include "common/error.hpp"
#include "formats/oci/json_util.hpp"

namespace ferry::oci::detail {

Digest digestAt(const Json& j, std::string_view path) {
  const std::string& s = json::asString(j, path);
  try {
    return Digest::parse(s);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(path) + ": " + e.what());
  }
}

}  // namespace ferry::oci::detail
