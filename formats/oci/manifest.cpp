#include "formats/oci/manifest.hpp"

#include "common/error.hpp"
#include "formats/oci/json_util.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci {

using namespace detail;

ImageManifest ImageManifest::fromJson(const Json& j, const std::string& path,
                                      const ParseOptions& opts) {
  Object o(j, path);
  int64_t version = o.integer("schemaVersion");
  if (version != 2) json::fail(o.pathOf("schemaVersion"), "must be 2");
  std::optional<std::string> mediaType;
  if (const Json* v = opt(o, "mediaType")) {
    mediaType = json::asString(*v, o.pathOf("mediaType"));
    if (!isManifest(*mediaType)) {
      json::fail(o.pathOf("mediaType"), "not an image manifest: " + quote(*mediaType));
    }
  }
  std::optional<std::string> artifactType;
  if (const Json* v = opt(o, "artifactType")) {
    artifactType = mediaTypeAt(*v, o.pathOf("artifactType"));
  }
  ImageManifest m(Descriptor::fromJson(o.require("config"), o.pathOf("config"), opts));
  m.mediaType = std::move(mediaType);
  m.artifactType = std::move(artifactType);
  m.layers = arrayOf(
      o.require("layers"), o.pathOf("layers"),
      [&](const Json& e, const std::string& p) { return Descriptor::fromJson(e, p, opts); });
  if (const Json* v = opt(o, "subject")) {
    m.subject = Descriptor::fromJson(*v, o.pathOf("subject"), opts);
  }
  m.annotations = optStringMap(o, "annotations");
  m.extra = finish(o, opts);
  return m;
}

ImageManifest ImageManifest::parse(std::string_view text, std::string_view what,
                                   const ParseOptions& opts) {
  return fromJson(json::parse(text, what), "", opts);
}

Json ImageManifest::toJson() const {
  Json out = Json::object();
  out["schemaVersion"] = schemaVersion;
  put(out, "mediaType", mediaType);
  put(out, "artifactType", artifactType);
  out["config"] = config.toJson();
  Json ls = Json::array();
  for (const auto& l : layers) ls.push_back(l.toJson());
  out["layers"] = std::move(ls);
  if (subject) out["subject"] = subject->toJson();
  putMap(out, "annotations", annotations);
  appendExtra(out, extra);
  return out;
}

std::string ImageManifest::dump() const { return json::dump(toJson()); }

bool ImageManifest::isDocker() const { return mediaType && *mediaType == media::kDockerManifest; }

}  // namespace ferry::oci
