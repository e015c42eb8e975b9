#include "stage0/pod/info.hpp"

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/appc/pod_manifest.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

json::Json PodInfo::toJson() const {
  auto opt = [](const auto& v) { return v ? json::Json(*v) : json::Json(nullptr); };
  json::Json j = json::Json::object();
  j["name"] = uuid;
  j["state"] = std::string(stateName(state));
  j["pid"] = opt(pid);
  j["exitCode"] = opt(exitCode);
  j["createdAt"] = opt(createdAt);
  j["startedAt"] = opt(startedAt);
  j["finishedAt"] = opt(finishedAt);
  j["unit"] = opt(unit);
  json::Json apps = json::Json::array();
  for (const auto& a : this->apps) {
    AppStatus none;
    none.name = a.name;
    json::Json o = statusToJson(a.status ? *a.status : none);
    o["imageName"] = a.imageName;
    o["imageId"] = a.imageId;
    apps.push_back(o);
  }
  j["apps"] = apps;
  json::Json nets = json::Json::array();
  if (net == "host" || net == "none") nets.push_back({{"name", net}});
  for (const auto& n : networks) {
    nets.push_back({{"name", n.name}, {"ifName", n.ifName}, {"addresses", n.addresses}});
  }
  j["networks"] = nets;
  return j;
}

std::string PodInfo::networksText(bool everyAddress) const {
  if (net == "host" || net == "none") return net;
  std::string out;
  auto add = [&out](const std::string& one) { out += (out.empty() ? "" : ",") + one; };
  for (const auto& n : networks) {
    if (n.addresses.empty()) {
      add(n.name);
    } else if (!everyAddress) {
      add(n.name + ":" + n.addresses.front());
    } else {
      for (const auto& a : n.addresses) add(n.name + ":" + a);
    }
  }
  return out.empty() ? "-" : out;
}

PodInfo inspect(const Pod& pod) {
  PodInfo info;
  info.uuid = pod.uuid;
  info.state = pod.state();
  const fs::path& d = pod.path;
  info.createdAt = fileTime(d / "pod");
  if (!info.createdAt) info.createdAt = fileTime(d / "lock");
  if (pod.dir == Dir::kRun || pod.dir == Dir::kExitedGarbage) {
    info.pid = readNumberFile(d / "pid");
    info.startedAt = fileTime(d / "pid");
    info.exitCode = readNumberFile(d / "exit");
    info.finishedAt = fileTime(d / "exit");
  }
  std::error_code ec;
  // stage0/systemd/pod_unit.hpp writes it; only the name matters here.
  if (fs::exists(d / "unit", ec)) {
    json::Json u = json::parse(readFile(d / "unit", 1 << 16), (d / "unit").string());
    if (u.is_object() && u.contains("name") && u["name"].is_string()) {
      info.unit = u["name"].get<std::string>();
    }
  }
  if (!fs::exists(d / "runtime.json", ec)) return info;
  RuntimeOptions ro = RuntimeOptions::read(d);
  info.net = ro.net == "default" ? "none" : ro.net;
  if (info.net == "netns") info.networks = net::networkStatus(d);
  std::optional<appc::PodManifest> pm;
  if (fs::exists(d / "pod", ec))
    pm = appc::PodManifest::parse(readFile(d / "pod"), (d / "pod").string());
  for (const auto& a : ro.apps) {
    PodAppInfo ai;
    ai.name = a.name;
    ai.imageId = a.image;
    if (pm) {
      if (const auto* ra = pm->findApp(a.name); ra != nullptr && ra->image.name) {
        ai.imageName = ra->image.name->str();
        if (auto v = ra->image.labels.get("version")) ai.imageName += ":" + std::string(*v);
      }
    }
    ai.status = readAppStatus(d, a.name);
    info.apps.push_back(std::move(ai));
  }
  return info;
}

}  // namespace ferry::pod
