#include "formats/oci/descriptor.hpp"

#include "formats/oci/json_util.hpp"

namespace ferry::oci {

using namespace detail;

Platform Platform::fromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Platform p;
  p.architecture = o.string("architecture");
  p.os = o.string("os");
  if (p.architecture.empty()) json::fail(o.pathOf("architecture"), "must not be empty");
  if (p.os.empty()) json::fail(o.pathOf("os"), "must not be empty");
  p.osVersion = optString(o, "os.version");
  p.osFeatures = optStringArray(o, "os.features");
  p.variant = optString(o, "variant");
  p.features = optStringArray(o, "features");
  p.extra = finish(o, opts);
  return p;
}

Json Platform::toJson() const {
  Json out = Json::object();
  out["architecture"] = architecture;
  out["os"] = os;
  put(out, "os.version", osVersion);
  put(out, "os.features", osFeatures);
  put(out, "variant", variant);
  put(out, "features", features);
  appendExtra(out, extra);
  return out;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (variant && !variant->empty()) s += "/" + *variant;
  return s;
}

Descriptor Descriptor::fromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  std::string mediaType = mediaTypeAt(o.require("mediaType"), o.pathOf("mediaType"));
  Digest digest = digestAt(o.require("digest"), o.pathOf("digest"));
  auto size = static_cast<int64_t>(o.uinteger("size", INT64_MAX));
  Descriptor d(std::move(mediaType), std::move(digest), size);
  if (const Json* v = opt(o, "urls")) d.urls = stringArray(*v, o.pathOf("urls"));
  d.annotations = optStringMap(o, "annotations");
  d.data = optString(o, "data");
  if (const Json* v = opt(o, "platform")) {
    d.platform = Platform::fromJson(*v, o.pathOf("platform"), opts);
  }
  d.artifactType = optString(o, "artifactType");
  if (d.artifactType) mediaTypeAt(*opt(o, "artifactType"), o.pathOf("artifactType"));
  d.extra = finish(o, opts);
  return d;
}

Descriptor Descriptor::parse(std::string_view text, std::string_view what,
                             const ParseOptions& opts) {
  return fromJson(json::parse(text, what), "", opts);
}

Json Descriptor::toJson() const {
  Json out = Json::object();
  out["mediaType"] = mediaType;
  out["digest"] = digest.str();
  out["size"] = size;
  if (!urls.empty()) out["urls"] = detail::toJson(urls);
  putMap(out, "annotations", annotations);
  put(out, "data", data);
  if (platform) out["platform"] = platform->toJson();
  put(out, "artifactType", artifactType);
  appendExtra(out, extra);
  return out;
}

std::optional<std::string> Descriptor::annotation(std::string_view key) const {
  auto it = annotations.find(std::string(key));
  if (it == annotations.end()) return std::nullopt;
  return it->second;
}

}  // namespace ferry::oci
