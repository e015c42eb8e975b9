#include "formats/oci/index.hpp"

#include "common/error.hpp"
#include "formats/oci/json_util.hpp"
#include "formats/oci/media_types.hpp"

namespace ferry::oci {

using namespace detail;

ImageIndex ImageIndex::fromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  ImageIndex x;
  int64_t version = o.integer("schemaVersion");
  if (version != 2) json::fail(o.pathOf("schemaVersion"), "must be 2");
  if (const Json* v = opt(o, "mediaType")) {
    x.mediaType = json::asString(*v, o.pathOf("mediaType"));
    if (!isIndex(*x.mediaType)) {
      json::fail(o.pathOf("mediaType"), "not an image index: " + quote(*x.mediaType));
    }
  }
  if (const Json* v = opt(o, "artifactType")) {
    x.artifactType = mediaTypeAt(*v, o.pathOf("artifactType"));
  }
  // Entries of unknown media types are kept: the spec says to ignore them, not to reject them.
  x.manifests = arrayOf(
      o.require("manifests"), o.pathOf("manifests"),
      [&](const Json& e, const std::string& p) { return Descriptor::fromJson(e, p, opts); });
  if (const Json* v = opt(o, "subject")) {
    x.subject = Descriptor::fromJson(*v, o.pathOf("subject"), opts);
  }
  x.annotations = optStringMap(o, "annotations");
  x.extra = finish(o, opts);
  return x;
}

ImageIndex ImageIndex::parse(std::string_view text, std::string_view what,
                             const ParseOptions& opts) {
  return fromJson(json::parse(text, what), "", opts);
}

Json ImageIndex::toJson() const {
  Json out = Json::object();
  out["schemaVersion"] = schemaVersion;
  put(out, "mediaType", mediaType);
  put(out, "artifactType", artifactType);
  Json ms = Json::array();
  for (const auto& m : manifests) ms.push_back(m.toJson());
  out["manifests"] = std::move(ms);
  if (subject) out["subject"] = subject->toJson();
  putMap(out, "annotations", annotations);
  appendExtra(out, extra);
  return out;
}

std::string ImageIndex::dump() const { return json::dump(toJson()); }

bool ImageIndex::isDocker() const { return mediaType && *mediaType == media::kDockerManifestList; }

}  // namespace ferry::oci
