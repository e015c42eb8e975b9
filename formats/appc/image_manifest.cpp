#include "formats/appc/image_manifest.hpp"

#include "common/error.hpp"
#include "formats/appc/json_util.hpp"
#include "formats/appc/manifest_common.hpp"
#include "formats/appc/os_arch.hpp"

namespace ferry::appc {

using json::Json;

Dependency Dependency::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  Dependency d{.imageName = detail::parseField<AcIdentifier>(o, "imageName")};
  if (const Json* id = o.find("imageID")) {
    d.imageID = detail::parseString<ImageId>(*id, o.pathOf("imageID"));
  }
  if (const Json* l = o.find("labels")) d.labels = detail::labelsFromJson(*l, o.pathOf("labels"));
  d.size = o.optUinteger("size");
  o.done();
  return d;
}

Json Dependency::toJson() const {
  Json o = Json::object();
  o["imageName"] = imageName.str();
  if (imageID) o["imageID"] = imageID->str();
  if (!labels.empty()) o["labels"] = labels.toJson();
  if (size) o["size"] = *size;
  return o;
}

ImageManifest ImageManifest::fromJson(const Json& j) {
  json::Object o(j, "");
  detail::requireKind(o, kImageManifestKind);
  SemVer version = detail::parseField<SemVer>(o, "acVersion");
  ImageManifest m{.acVersion = version, .name = detail::parseField<AcIdentifier>(o, "name")};
  if (const Json* l = o.find("labels")) m.labels = detail::labelsFromJson(*l, o.pathOf("labels"));
  if (const Json* a = o.find("app")) m.app = App::fromJson(*a, o.pathOf("app"));
  if (const Json* d = o.find("dependencies")) {
    std::string dp = o.pathOf("dependencies");
    json::asArray(*d, dp);
    for (size_t i = 0; i < d->size(); ++i) {
      m.dependencies.push_back(Dependency::fromJson((*d)[i], json::index(dp, i)));
    }
  }
  if (const Json* w = o.find("pathWhitelist")) {
    std::string wp = o.pathOf("pathWhitelist");
    m.pathWhitelist = detail::stringList(*w, wp);
    for (size_t i = 0; i < m.pathWhitelist.size(); ++i) {
      detail::requireAbsolutePath(m.pathWhitelist[i], json::index(wp, i));
    }
  }
  if (const Json* a = o.find("annotations")) {
    m.annotations = Annotations::fromJson(*a, o.pathOf("annotations"));
  }
  o.done();
  return m;
}

ImageManifest ImageManifest::parse(std::string_view text, std::string_view what) {
  Json j = json::parse(text, what);
  try {
    return fromJson(j);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot parse " + std::string(what) + ": " + e.what());
  }
}

Json ImageManifest::toJson() const {
  Json o = Json::object();
  o["acKind"] = kImageManifestKind;
  o["acVersion"] = acVersion.str();
  o["name"] = name.str();
  if (!labels.empty()) o["labels"] = labels.toJson();
  if (app) o["app"] = app->toJson();
  if (!dependencies.empty()) {
    Json d = Json::array();
    for (const auto& dep : dependencies) d.push_back(dep.toJson());
    o["dependencies"] = std::move(d);
  }
  if (!pathWhitelist.empty()) o["pathWhitelist"] = detail::toJson(pathWhitelist);
  if (!annotations.empty()) o["annotations"] = annotations.toJson();
  return o;
}

}  // namespace ferry::appc
