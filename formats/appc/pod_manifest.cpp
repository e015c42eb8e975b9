#include "formats/appc/pod_manifest.hpp"

#include <arpa/inet.h>

#include <set>

#include "common/error.hpp"
#include "formats/appc/json_util.hpp"
#include "formats/appc/manifest_common.hpp"

namespace ferry::appc {

namespace {

using json::Json;

constexpr int64_t kMaxId = int64_t{UINT32_MAX} - 1;  // (uid_t)-1 is "no user"

bool isOctalMode(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return false;
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  return v <= 07777;
}

bool isIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

uint32_t EmptyVolume::modeBits() const {
  if (!mode) return 0755;
  uint32_t v = 0;
  for (char c : *mode) v = v * 8 + static_cast<uint32_t>(c - '0');
  return v;
}

std::string_view Volume::kindName() const {
  return std::holds_alternative<HostVolume>(kind) ? "host" : "empty";
}

Volume Volume::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  AcName name = detail::parseField<AcName>(o, "name");
  std::string kind = o.string("kind");
  std::optional<std::string> source = o.optString("source");
  std::optional<bool> readOnly = o.optBool("readOnly");
  std::optional<bool> recursive = o.optBool("recursive");
  std::optional<std::string> mode = o.optString("mode");
  std::optional<int64_t> uid = o.optInteger("uid", -1, kMaxId);
  std::optional<int64_t> gid = o.optInteger("gid", -1, kMaxId);
  o.done();
  if (kind == "host") {
    if (!source) json::fail(o.pathOf("source"), "required field is missing for a host volume");
    detail::requireAbsolutePath(*source, o.pathOf("source"));
    if (mode) json::fail(o.pathOf("mode"), "is only allowed for empty volumes");
    // Go's encoder writes "uid": -1, "gid": -1 ("not set") for host volumes; accept that.
    if (uid && *uid != -1) json::fail(o.pathOf("uid"), "is only allowed for empty volumes");
    if (gid && *gid != -1) json::fail(o.pathOf("gid"), "is only allowed for empty volumes");
    return Volume{std::move(name), HostVolume{std::move(*source)}, readOnly, recursive};
  }
  if (kind == "empty") {
    if (source && !source->empty()) {
      json::fail(o.pathOf("source"), "is not allowed for an empty volume");
    }
    if (mode && !isOctalMode(*mode)) {
      json::fail(o.pathOf("mode"), "must be an octal mode like \"0755\", not " + quote(*mode));
    }
    if (uid == -1) json::fail(o.pathOf("uid"), "must be between 0 and " + std::to_string(kMaxId));
    if (gid == -1) json::fail(o.pathOf("gid"), "must be between 0 and " + std::to_string(kMaxId));
    EmptyVolume e{std::move(mode), std::nullopt, std::nullopt};
    if (uid) e.uid = static_cast<uint32_t>(*uid);
    if (gid) e.gid = static_cast<uint32_t>(*gid);
    return Volume{std::move(name), std::move(e), readOnly, recursive};
  }
  json::fail(o.pathOf("kind"), "must be \"host\" or \"empty\", not " + quote(kind));
}

Json Volume::toJson() const {
  Json o = Json::object();
  o["name"] = name.str();
  o["kind"] = kindName();
  if (auto* h = std::get_if<HostVolume>(&kind)) o["source"] = h->source;
  if (readOnly) o["readOnly"] = *readOnly;
  if (recursive) o["recursive"] = *recursive;
  if (auto* e = std::get_if<EmptyVolume>(&kind)) {
    if (e->mode) o["mode"] = *e->mode;
    if (e->uid) o["uid"] = *e->uid;
    if (e->gid) o["gid"] = *e->gid;
  }
  return o;
}

Mount Mount::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  Mount m{detail::parseField<AcName>(o, "volume"), o.string("path"), std::nullopt};
  if (m.path.empty()) json::fail(o.pathOf("path"), "must not be empty");
  if (const Json* v = o.find("appVolume"))
    m.appVolume = Volume::fromJson(*v, o.pathOf("appVolume"));
  o.done();
  return m;
}

Json Mount::toJson() const {
  Json o = Json::object();
  o["volume"] = volume.str();
  o["path"] = path;
  if (appVolume) o["appVolume"] = appVolume->toJson();
  return o;
}

RuntimeImage RuntimeImage::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  std::optional<AcIdentifier> name;
  if (const Json* n = o.find("name"))
    name = detail::parseString<AcIdentifier>(*n, o.pathOf("name"));
  RuntimeImage img{std::move(name), detail::parseField<ImageId>(o, "id"), {}};
  if (const Json* l = o.find("labels")) img.labels = detail::labelsFromJson(*l, o.pathOf("labels"));
  o.done();
  return img;
}

Json RuntimeImage::toJson() const {
  Json o = Json::object();
  if (name) o["name"] = name->str();
  o["id"] = id.str();
  if (!labels.empty()) o["labels"] = labels.toJson();
  return o;
}

RuntimeApp RuntimeApp::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  AcName name = detail::parseField<AcName>(o, "name");
  RuntimeApp a{std::move(name),
               RuntimeImage::fromJson(o.require("image"), o.pathOf("image")),
               std::nullopt,
               std::nullopt,
               {},
               {}};
  if (const Json* app = o.find("app")) a.app = App::fromJson(*app, o.pathOf("app"));
  a.readOnlyRootFS = o.optBool("readOnlyRootFS");
  if (const Json* m = detail::optArray(o, "mounts")) {
    a.mounts = detail::listFromJson<Mount>(*m, o.pathOf("mounts"));
  }
  if (const Json* an = o.find("annotations")) {
    a.annotations = Annotations::fromJson(*an, o.pathOf("annotations"));
  }
  o.done();
  return a;
}

Json RuntimeApp::toJson() const {
  Json o = Json::object();
  o["name"] = name.str();
  o["image"] = image.toJson();
  if (app) o["app"] = app->toJson();
  if (readOnlyRootFS) o["readOnlyRootFS"] = *readOnlyRootFS;
  if (!mounts.empty()) o["mounts"] = detail::listToJson(mounts);
  if (!annotations.empty()) o["annotations"] = annotations.toJson();
  return o;
}

ExposedPort ExposedPort::fromJson(const Json& j, std::string_view pathView) {
  json::Object o(j, std::string(pathView));
  AcName name = detail::parseField<AcName>(o, "name");
  ExposedPort p{std::move(name), static_cast<uint16_t>(o.integer("hostPort", 1, 65535)),
                o.optString("hostIP"), std::nullopt};
  if (p.hostIP && !isIpLiteral(*p.hostIP)) {
    json::fail(o.pathOf("hostIP"), "must be an IPv4 or IPv6 address, not " + quote(*p.hostIP));
  }
  if (const Json* pp = o.find("podPort")) p.podPort = Port::fromJson(*pp, o.pathOf("podPort"));
  o.done();
  return p;
}

Json ExposedPort::toJson() const {
  Json o = Json::object();
  o["name"] = name.str();
  o["hostPort"] = hostPort;
  if (hostIP) o["hostIP"] = *hostIP;
  if (podPort) o["podPort"] = podPort->toJson();
  return o;
}

const RuntimeApp* PodManifest::findApp(std::string_view name) const {
  for (const auto& a : apps) {
    if (a.name.str() == name) return &a;
  }
  return nullptr;
}

const Volume* PodManifest::findVolume(std::string_view name) const {
  for (const auto& v : volumes) {
    if (v.name.str() == name) return &v;
  }
  return nullptr;
}

PodManifest PodManifest::fromJson(const Json& j) {
  json::Object o(j, "");
  PodManifest m;
  m.acVersion = detail::parseField<SemVer>(o, "acVersion");
  detail::requireKind(o, kPodManifestKind);
  std::string appsPath = o.pathOf("apps");
  m.apps = detail::listFromJson<RuntimeApp>(json::asArray(o.require("apps"), appsPath), appsPath);
  detail::requireUniqueNames(
      m.apps, appsPath, "app",
      [](const RuntimeApp& a) -> const std::string& { return a.name.str(); });
  // Go's encoder writes these four as null when they are empty.
  if (const Json* v = detail::optArray(o, "volumes", true)) {
    m.volumes = detail::listFromJson<Volume>(*v, o.pathOf("volumes"));
    detail::requireUniqueNames(m.volumes, o.pathOf("volumes"), "volume",
                               [](const Volume& v) -> const std::string& { return v.name.str(); });
  }
  if (const Json* i = detail::optArray(o, "isolators", true)) {
    m.isolators = isolatorsFromJson(*i, o.pathOf("isolators"));
  }
  if (const Json* a = detail::optArray(o, "annotations", true)) {
    m.annotations = Annotations::fromJson(*a, o.pathOf("annotations"));
  }
  if (const Json* p = detail::optArray(o, "ports", true)) {
    m.ports = detail::listFromJson<ExposedPort>(*p, o.pathOf("ports"));
    detail::requireUniqueNames(
        m.ports, o.pathOf("ports"), "port",
        [](const ExposedPort& p) -> const std::string& { return p.name.str(); });
  }
  if (const Json* a = o.find("userAnnotations")) {
    m.userAnnotations = detail::stringMap(*a, o.pathOf("userAnnotations"));
  }
  if (const Json* l = o.find("userLabels")) {
    m.userLabels = detail::stringMap(*l, o.pathOf("userLabels"));
  }
  o.done();
  return m;
}

PodManifest PodManifest::parse(std::string_view text, std::string_view what) {
  Json j = json::parse(text, what);
  try {
    return fromJson(j);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot parse " + std::string(what) + ": " + e.what());
  }
}

Json PodManifest::toJson() const {
  Json o = Json::object();
  o["acVersion"] = acVersion.str();
  o["acKind"] = kPodManifestKind;
  o["apps"] = detail::listToJson(apps);
  if (!volumes.empty()) o["volumes"] = detail::listToJson(volumes);
  if (!isolators.empty()) o["isolators"] = appc::toJson(isolators);
  if (!annotations.empty()) o["annotations"] = annotations.toJson();
  if (!ports.empty()) o["ports"] = detail::listToJson(ports);
  if (!userAnnotations.empty()) o["userAnnotations"] = detail::toJson(userAnnotations);
  if (!userLabels.empty()) o["userLabels"] = detail::toJson(userLabels);
  return o;
}

}  // namespace ferry::appc
