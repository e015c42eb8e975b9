#include "stage0/mds/pod_registry.hpp"

#include "common/error.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/appc/pod_manifest.hpp"

namespace ferry::mds {

using json::Json;

const PodApp* Pod::findApp(std::string_view name) const {
  auto it = apps.find(name);
  return it == apps.end() ? nullptr : &it->second;
}

bool isValidToken(std::string_view token) {
  if (token.size() < 32 || token.size() > 256) return false;
  for (char c : token) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) return false;
  }
  return token != "." && token != "..";
}

std::string annotationsJson(const AnnotationList& list) {
  Json out = Json::array();
  for (const auto& [name, value] : list) {
    Json o = Json::object();
    o["name"] = name;
    o["value"] = value;
    out.push_back(std::move(o));
  }
  return json::dump(out);
}

namespace {

AnnotationList toList(const appc::Annotations& a) {
  AnnotationList out;
  for (const auto& item : a) out.emplace_back(std::string(item.name.str()), item.value);
  return out;
}

// appc's Annotations.Set: replace in place, or append.
void set(AnnotationList& list, const std::string& name, const std::string& value) {
  for (auto& [n, v] : list) {
    if (n == name) {
      v = value;
      return;
    }
  }
  list.emplace_back(name, value);
}

}  // namespace

Pod parseRegistration(const Json& message) {
  json::Object o(message, "");
  int64_t version = o.integer("mdsRegistrationVersion");
  if (version != 1) {
    json::fail("mdsRegistrationVersion",
               "version " + std::to_string(version) + " is not supported (this service speaks 1)");
  }
  if (std::string type = o.string("type"); type != "register") {
    json::fail("type", "must be \"register\", not " + quote(type));
  }
  std::string uuidText = o.string("uuid");
  std::optional<appc::Uuid> uuid;
  try {
    uuid = appc::Uuid::parse(uuidText);
  } catch (const Error& e) {
    json::fail("uuid", e.what());
  }
  std::string token = o.string("token");
  if (!isValidToken(token)) {
    json::fail("token", "must be 32 to 256 characters of [A-Za-z0-9._~-]");
  }

  const Json& podJson = o.require("podManifest");
  std::optional<appc::PodManifest> manifest;
  try {
    manifest = appc::PodManifest::fromJson(podJson);
  } catch (const Error& e) {
    json::fail("podManifest", e.what());
  }
  Json served = podJson;
  if (!served.contains("annotations") || served["annotations"].is_null()) {
    // Readers (the ACE validator among them) compare /pod/annotations with this field.
    served["annotations"] = Json::array();
  }

  Pod pod{*uuid, token, json::dump(served), toList(manifest->annotations), {}};

  const Json& apps = json::asObject(o.require("apps"), "apps");
  for (const appc::RuntimeApp& ra : manifest->apps) {
    const std::string& name = ra.name.str();
    std::string path = json::child("apps", name);
    if (!apps.contains(name)) json::fail(path, "missing: the pod manifest has this app");
    json::Object a(apps[name], path);
    const Json& imJson = a.require("imageManifest");
    std::optional<appc::ImageManifest> im;
    try {
      im = appc::ImageManifest::fromJson(imJson);
    } catch (const Error& e) {
      json::fail(a.pathOf("imageManifest"), e.what());
    }
    a.done();
    PodApp app{name, ra.image.id.str(), json::dump(imJson), toList(im->annotations)};
    for (const auto& item : ra.annotations)
      set(app.annotations, std::string(item.name.str()), item.value);
    pod.apps.emplace(name, std::move(app));
  }
  for (const auto& [name, value] : apps.items()) {
    if (!pod.findApp(name)) {
      json::fail(json::child("apps", name), "not an app of the pod manifest");
    }
  }
  o.done();
  return pod;
}

std::shared_ptr<const Pod> PodRegistry::add(Pod pod) {
  if (byUuid_.count(pod.uuid)) {
    throw Error(Errc::kInvalid, "pod " + pod.uuid.str() + " is registered already");
  }
  if (byToken_.count(pod.token)) {
    throw Error(Errc::kInvalid, "the token of pod " + pod.uuid.str() + " is in use by another pod");
  }
  auto p = std::make_shared<const Pod>(std::move(pod));
  byUuid_.emplace(p->uuid, p);
  byToken_.emplace(p->token, p);
  return p;
}

void PodRegistry::remove(const appc::Uuid& uuid) {
  auto it = byUuid_.find(uuid);
  if (it == byUuid_.end()) return;
  byToken_.erase(it->second->token);
  byUuid_.erase(it);
}

std::shared_ptr<const Pod> PodRegistry::findByToken(std::string_view token) const {
  auto it = byToken_.find(token);
  return it == byToken_.end() ? nullptr : it->second;
}

}  // namespace ferry::mds
