#include "stage1/common/resources.hpp"

#include <signal.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <system_error>
#include <utility>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;
using json::Json;

namespace {

// Reads a JSON document of the pod directory; errors name the file.
Json readJson(const fs::path& file) {
  return json::parse(readFile(file, 16 << 20), quote(file.string()));
}

template <typename F>
auto inFile(const fs::path& file, F fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(e.code(), quote(file.string()) + ": " + e.what());
  }
}

[[noreturn]] void unsupported(const std::string& path) {
  throw Error(Errc::kUnsupported, path + ": not supported by this stage1");
}

}  // namespace

ResourcesConfig resourcesFromJson(const Json& j, const std::string& path) {
  ResourcesConfig config;
  cgroup::Resources& r = config.limits;
  json::Object o(j, path);
  if (const Json* d = o.find("devices"); d != nullptr && !d->is_null()) {
    std::string at = o.pathOf("devices");
    const Json& rules = json::asArray(*d, at);
    for (size_t i = 0; i < rules.size(); ++i) {
      json::Object ro(rules[i], json::index(at, i));
      bool allow = ro.boolean("allow");
      std::string type = ro.optString("type").value_or("a");
      int64_t major = ro.optInteger("major").value_or(-1);
      int64_t minor = ro.optInteger("minor").value_or(-1);
      std::string access = ro.optString("access").value_or("rwm");
      ro.done();
      config.deviceRules.push_back(
          cgroup::DeviceRule::fromOci(allow, type, major, minor, access, ro.path()));
    }
  }
  if (const Json* m = o.find("memory"); m != nullptr && !m->is_null()) {
    json::Object mo(*m, o.pathOf("memory"));
    r.memoryLimit = mo.optInteger("limit");
    r.memoryReservation = mo.optInteger("reservation");
    for (const auto& key : mo.unreadKeys()) {
      if (!mo.json()[key].is_null()) unsupported(mo.pathOf(key));
    }
  }
  if (const Json* c = o.find("cpu"); c != nullptr && !c->is_null()) {
    json::Object co(*c, o.pathOf("cpu"));
    r.cpuShares = co.optUinteger("shares");
    r.cpuQuota = co.optInteger("quota");
    r.cpuPeriod = co.optUinteger("period");
    for (const auto& key : co.unreadKeys()) {
      if (!co.json()[key].is_null()) unsupported(co.pathOf(key));
    }
  }
  if (const Json* p = o.find("pids"); p != nullptr && !p->is_null()) {
    json::Object po(*p, o.pathOf("pids"));
    r.pidsLimit = po.integer("limit");
    po.done();
  }
  for (const auto& key : o.unreadKeys()) {
    if (!o.json()[key].is_null()) unsupported(o.pathOf(key));
  }
  return config;
}

namespace {

// linux.devices: the nodes stage2 creates in the app's /dev, each allowed in full (a fifo needs
// no rule).
void allowLinuxDevices(const Json& devices, const std::string& path, cgroup::DevicePolicy& policy) {
  const Json& list = json::asArray(devices, path);
  for (size_t i = 0; i < list.size(); ++i) {
    json::Object d(list[i], json::index(path, i));
    std::string type = d.string("type");
    if (type == "p") {
      d.ignoreRest();
      continue;
    }
    if (type != "c" && type != "u" && type != "b") {
      json::fail(d.pathOf("type"), "unknown device type \"" + type + "\" (c, u, b or p)");
    }
    int64_t major = d.integer("major", 0);
    int64_t minor = d.integer("minor", 0);
    d.ignoreRest();
    policy.add(
        cgroup::DeviceRule::fromOci(true, type == "b" ? "b" : "c", major, minor, "rwm", d.path()));
  }
}

}  // namespace

const Json& appConfigJson(const fs::path& podDir, const std::string& app) {
  static std::mutex mu;
  static std::map<fs::path, Json> parsed;
  fs::path file = podDir / podfile::kApps / app / podfile::kAppConfig;
  std::lock_guard<std::mutex> hold(mu);
  if (auto it = parsed.find(file); it != parsed.end()) return it->second;
  Json doc = readJson(file);
  return parsed.emplace(std::move(file), std::move(doc)).first->second;
}

AppCgroupConfig appCgroupConfig(const fs::path& podDir, const std::string& app) {
  fs::path file = podDir / podfile::kApps / app / podfile::kAppConfig;
  const Json& doc = appConfigJson(podDir, app);
  return inFile(file, [&] {
    AppCgroupConfig config;
    const Json* linux = doc.is_object() && doc.contains("linux") ? &doc["linux"] : nullptr;
    if (linux != nullptr && linux->is_object() && linux->contains("resources") &&
        !(*linux)["resources"].is_null()) {
      ResourcesConfig r = resourcesFromJson((*linux)["resources"], "linux.resources");
      config.limits = r.limits;
      for (size_t i = 0; i < r.deviceRules.size(); ++i) {
        config.devices.add(r.deviceRules[i], json::index("linux.resources.devices", i));
      }
    }
    config.devices.merge(cgroup::DevicePolicy::defaults());
    if (linux != nullptr && linux->is_object() && linux->contains("devices") &&
        !(*linux)["devices"].is_null()) {
      allowLinuxDevices((*linux)["devices"], "linux.devices", config.devices);
    }
    return config;
  });
}

cgroup::DevicePolicy podDevicePolicy(const ResourcesConfig& podResources,
                                     const std::vector<AppCgroupConfig>& apps) {
  cgroup::DevicePolicy policy;
  for (size_t i = 0; i < podResources.deviceRules.size(); ++i) {
    policy.add(podResources.deviceRules[i], json::index("podResources.devices", i));
  }
  for (const AppCgroupConfig& app : apps) policy.merge(app.devices);
  return policy;
}

ResourcesConfig podResourcesOf(const fs::path& podDir, const RuntimeOptions& rt) {
  if (!rt.podResources) return {};
  fs::path file = podDir / podfile::kRuntime;
  return inFile(file, [&] { return resourcesFromJson(*rt.podResources, "podResources"); });
}

}  // namespace ferry::stage1
