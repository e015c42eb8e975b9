#include "stage1/common/runtime.hpp"

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using json::Json;
namespace f = runtime_field;

Json RuntimeOptions::toJson() const {
  Json j = Json::object();
  auto k = [](std::string_view s) { return std::string(s); };
  j[k(f::kVersion)] = kRuntimeVersion;
  j[k(f::kUuid)] = uuid;
  j[k(f::kHostname)] = hostname;
  j[k(f::kNet)] = net;
  if (netns) j[k(f::kNetns)] = *netns;
  if (ipc != "auto") j[k(f::kIpc)] = ipc;
  j[k(f::kInteractive)] = interactive;
  j[k(f::kNoOverlay)] = noOverlay;
  j[k(f::kStopTimeoutSeconds)] = stopTimeoutSeconds;
  j[k(f::kDebug)] = debug;
  j[k(f::kLogDriver)] = logDriver;
  if (!stage1Options.empty()) j[k(f::kStage1Options)] = stage1Options;
  j[k(f::kStage2)] = stage2;
  j[k(f::kInit)] = init;
  if (mds) {
    j[k(f::kMds)] = {{"socket", mds->socket.string()}, {"token", mds->token}, {"port", mds->port}};
  } else {
    j[k(f::kMds)] = nullptr;
  }
  j[k(f::kPodResources)] = podResources ? *podResources : Json(nullptr);
  if (privateUsers) {
    j[k(f::kPrivateUsers)] = {
        {"uid", privateUsers->uid}, {"gid", privateUsers->gid}, {"count", privateUsers->count}};
  } else {
    j[k(f::kPrivateUsers)] = nullptr;
  }
  Json list = Json::array();
  for (const RuntimeApp& a : apps) {
    list.push_back({{k(f::kAppName), a.name},
                    {k(f::kAppImage), a.image},
                    {k(f::kAppTree), a.tree.string()},
                    {k(f::kAppReadOnlyRootfs), a.readOnlyRootfs}});
  }
  j[k(f::kApps)] = list;
  return j;
}

RuntimeOptions RuntimeOptions::fromJson(const Json& doc, std::string_view what) {
  try {
    RuntimeOptions rt;
    json::Object o(doc, "");
    int64_t version = o.integer(f::kVersion);
    if (version != kRuntimeVersion) {
      throw Error(Errc::kUnsupported, std::string(f::kVersion) + ": version " +
                                          std::to_string(version) + " is not supported (version " +
                                          std::to_string(kRuntimeVersion) + " is)");
    }
    rt.uuid = o.string(f::kUuid);
    rt.hostname = o.optString(f::kHostname).value_or("");
    rt.net = o.optString(f::kNet).value_or("default");
    if (rt.net == "netns") {
      rt.netns = o.optString(f::kNetns);
      if (!rt.netns || rt.netns->empty() || (*rt.netns)[0] != '/') {
        json::fail(f::kNetns, "net is \"netns\": an absolute path is required");
      }
    }
    rt.ipc = o.optString(f::kIpc).value_or("auto");
    if (rt.ipc != "auto" && rt.ipc != "private" && rt.ipc != "parent") {
      json::fail(std::string(f::kIpc), "\"" + rt.ipc + "\" is not auto, private or parent");
    }
    rt.interactive = o.optBool(f::kInteractive).value_or(false);
    rt.noOverlay = o.optBool(f::kNoOverlay).value_or(false);
    rt.debug = o.optBool(f::kDebug).value_or(false);
    rt.logDriver = o.optString(f::kLogDriver).value_or("file");
    if (rt.logDriver != "file" && rt.logDriver != "journal") {
      json::fail(std::string(f::kLogDriver),
                 "\"" + rt.logDriver + "\" is not a log driver (file, journal)");
    }
    if (const Json* so = o.find(f::kStage1Options); so != nullptr && !so->is_null()) {
      std::string at(f::kStage1Options);
      for (const auto& [name, value] : json::asObject(*so, at).items()) {
        if (!value.is_string()) json::fail(at + "." + name, "must be a string");
        rt.stage1Options[name] = value.get<std::string>();
      }
    }
    rt.stopTimeoutSeconds =
        o.optInteger(f::kStopTimeoutSeconds, 0, 86400).value_or(kDefaultStopTimeoutSeconds);
    rt.stage2 = o.optString(f::kStage2).value_or("");
    rt.init = o.optString(f::kInit).value_or("");
    if (const Json* m = o.find(f::kMds); m != nullptr && !m->is_null()) {
      json::Object mo(*m, std::string(f::kMds));
      MdsOptions mds;
      mds.socket = mo.string("socket");
      mds.token = mo.string("token");
      mds.port = static_cast<uint16_t>(mo.integer("port", 1, 65535));
      mo.ignoreRest();
      rt.mds = mds;
    }
    if (const Json* r = o.find(f::kPodResources); r != nullptr && !r->is_null()) {
      json::asObject(*r, std::string(f::kPodResources));
      rt.podResources = *r;
    }
    if (const Json* u = o.find(f::kPrivateUsers); u != nullptr && !u->is_null()) {
      std::string at(f::kPrivateUsers);
      json::Object uo(*u, at);
      PrivateUsers pu;
      pu.uid = static_cast<uint32_t>(uo.integer("uid", 1, 4294967294LL));
      pu.gid = static_cast<uint32_t>(uo.integer("gid", 1, 4294967294LL));
      pu.count = static_cast<uint32_t>(uo.integer("count", 1, 4294967294LL));
      uo.ignoreRest();
      if (uint64_t{pu.uid} + pu.count > 4294967295ULL ||
          uint64_t{pu.gid} + pu.count > 4294967295ULL) {
        json::fail(at, "the range reaches past the last host ID");
      }
      rt.privateUsers = pu;
    }
    std::string appsPath(f::kApps);
    const Json& apps = json::asArray(o.require(f::kApps), appsPath);
    if (apps.empty()) json::fail(appsPath, "a pod needs at least one app");
    for (size_t i = 0; i < apps.size(); ++i) {
      json::Object a(apps[i], json::index(appsPath, i));
      RuntimeApp app;
      app.name = a.string(f::kAppName);
      if (app.name.empty() || app.name.find('/') != std::string::npos || app.name == "." ||
          app.name == "..") {
        json::fail(a.pathOf(f::kAppName), "\"" + app.name + "\" cannot name a directory");
      }
      app.image = a.optString(f::kAppImage).value_or("");
      app.tree = a.string(f::kAppTree);
      if (!app.tree.is_absolute()) json::fail(a.pathOf(f::kAppTree), "must be an absolute path");
      app.readOnlyRootfs = a.optBool(f::kAppReadOnlyRootfs).value_or(false);
      a.ignoreRest();
      rt.apps.push_back(std::move(app));
    }
    if (rt.interactive && rt.apps.size() != 1) {
      json::fail(std::string(f::kInteractive), "an interactive pod has exactly one app");
    }
    o.ignoreRest();
    return rt;
  } catch (const Error& e) {
    throw Error(e.code(), std::string(what) + ": " + e.what());
  }
}

RuntimeOptions RuntimeOptions::read(const fs::path& podDir) {
  fs::path file = podDir / podfile::kRuntime;
  std::string what = quote(file.string());
  return fromJson(json::parse(readFile(file, 16 << 20), what), what);
}

void RuntimeOptions::checkUuid(std::string_view want) const {
  if (uuid != want) {
    throw Error(Errc::kInvalid,
                "--uuid " + std::string(want) + " is not this pod's (runtime.json: " + uuid + ")");
  }
}

bool RuntimeOptions::hasApp(std::string_view name) const {
  for (const RuntimeApp& a : apps) {
    if (a.name == name) return true;
  }
  return false;
}

}  // namespace ferry::stage1
