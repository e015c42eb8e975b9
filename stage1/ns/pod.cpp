#include "stage1/ns/pod.hpp"

#include <signal.h>
#include <unistd.h>

#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"

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
  throw Error(Errc::kUnsupported, path + ": not supported by the ns stage1");
}

}  // namespace

RuntimeOptions readRuntime(const fs::path& podDir) {
  fs::path file = podDir / "runtime.json";
  Json doc = readJson(file);
  return inFile(file, [&] {
    RuntimeOptions rt;
    json::Object o(doc, "");
    int64_t version = o.integer("ferryRuntimeVersion");
    if (version != 1) {
      json::fail("ferryRuntimeVersion", "version " + std::to_string(version) +
                                            " is not supported (this stage1 reads version 1)");
    }
    rt.uuid = o.string("uuid");
    rt.hostname = o.optString("hostname").value_or("");
    rt.net = o.optString("net").value_or("default");
    if (rt.net != "host" && rt.net != "none" && rt.net != "default") {
      json::fail("net",
                 "\"" + rt.net + "\" is not supported by the ns stage1 (host, none, default)");
    }
    rt.interactive = o.optBool("interactive").value_or(false);
    rt.noOverlay = o.optBool("noOverlay").value_or(false);
    rt.debug = o.optBool("debug").value_or(false);
    rt.stopTimeoutSeconds = o.optInteger("stopTimeoutSeconds", 0, 86400).value_or(10);
    rt.stage2 = o.optString("stage2").value_or("");
    rt.init = o.optString("init").value_or("");
    if (const Json* m = o.find("mds"); m != nullptr && !m->is_null()) {
      json::Object mo(*m, "mds");
      MdsOptions mds;
      mds.socket = mo.string("socket");
      mds.token = mo.string("token");
      mds.port = static_cast<uint16_t>(mo.integer("port", 1, 65535));
      mo.ignoreRest();
      rt.mds = mds;
    }
    if (const Json* r = o.find("podResources"); r != nullptr && !r->is_null()) {
      rt.podResources = resourcesFromJson(*r, "podResources");
    }
    if (const Json* u = o.find("privateUsers"); u != nullptr && !u->is_null()) {
      json::Object uo(*u, "privateUsers");
      PrivateUsers pu;
      pu.uid = static_cast<uint32_t>(uo.integer("uid", 1, 4294967294LL));
      pu.gid = static_cast<uint32_t>(uo.integer("gid", 1, 4294967294LL));
      pu.count = static_cast<uint32_t>(uo.integer("count", 1, 4294967294LL));
      uo.ignoreRest();
      if (uint64_t{pu.uid} + pu.count > 4294967295ULL ||
          uint64_t{pu.gid} + pu.count > 4294967295ULL) {
        json::fail("privateUsers", "the range reaches past the last host ID");
      }
      rt.privateUsers = pu;
    }
    const Json& apps = json::asArray(o.require("apps"), "apps");
    if (apps.empty()) json::fail("apps", "a pod needs at least one app");
    for (size_t i = 0; i < apps.size(); ++i) {
      json::Object a(apps[i], json::index("apps", i));
      RuntimeApp app;
      app.name = a.string("name");
      if (app.name.empty() || app.name.find('/') != std::string::npos || app.name == "." ||
          app.name == "..") {
        json::fail(a.pathOf("name"), "\"" + app.name + "\" cannot name a directory");
      }
      app.image = a.optString("image").value_or("");
      app.tree = a.string("tree");
      if (!app.tree.is_absolute()) json::fail(a.pathOf("tree"), "must be an absolute path");
      app.readOnlyRootfs = a.optBool("readOnlyRootfs").value_or(false);
      a.ignoreRest();
      rt.apps.push_back(std::move(app));
    }
    if (rt.interactive && rt.apps.size() != 1) {
      json::fail("interactive", "an interactive pod has exactly one app");
    }
    o.ignoreRest();
    return rt;
  });
}

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

AppCgroupConfig appCgroupConfig(const fs::path& podDir, const std::string& app) {
  fs::path file = podDir / "apps" / app / "config.json";
  Json doc = readJson(file);
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

cgroup::DevicePolicy podDevicePolicy(const RuntimeOptions& rt,
                                     const std::vector<AppCgroupConfig>& apps) {
  cgroup::DevicePolicy policy;
  for (size_t i = 0; i < rt.podResources.deviceRules.size(); ++i) {
    policy.add(rt.podResources.deviceRules[i], json::index("podResources.devices", i));
  }
  for (const AppCgroupConfig& app : apps) policy.merge(app.devices);
  return policy;
}

void writeCgroupsJson(const fs::path& podDir, const cgroup::Group& pod) {
  Json doc = Json::object();
  for (const auto& m : pod.members()) doc[m.mount.string()] = m.dir.string();
  writeFileAtomic(podDir / "cgroups.json", json::dump(doc, true) + "\n", 0600, Sync::kAtomic);
}

std::optional<cgroup::Group> readCgroupsJson(const fs::path& podDir, const std::string& uuid) {
  fs::path file = podDir / "cgroups.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  Json doc = readJson(file);
  return inFile(file, [&] {
    std::vector<std::pair<std::string, std::string>> dirs;
    for (const auto& [mount, dir] : json::asObject(doc, "").items()) {
      dirs.emplace_back(mount, json::asString(dir, json::child("", mount)));
    }
    return cgroup::Group::fromRecord(dirs, podCgroupName(uuid));
  });
}

std::string podCgroupName(const std::string& uuid) { return "ferry-" + uuid; }

void finalizeStatus(const fs::path& podDir, const std::optional<cgroup::Group>& pod) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(podDir / "status", ec)) {
    const fs::path& file = entry.path();
    if (file.extension() != ".json") continue;
    Json status;
    try {
      status = json::parse(readFile(file), file.string());
    } catch (const std::exception&) {
      continue;  // written atomically by the init: a damaged one is not ours to guess at
    }
    if (!status.is_object() || status.value("state", "") != "running") continue;
    std::string app = file.stem().string();
    bool oom = false;
    if (pod) {
      try {
        oom = pod->existingChild(cgroup::appCgroupName(app)).oomKills() > 0;
      } catch (const std::exception&) {
        // the cgroup is gone already: no OOM flag to report
      }
    }
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    status["state"] = "exited";
    status["finishedAt"] = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    status["exitCode"] = nullptr;
    status["signal"] = "SIGKILL";
    status["oomKilled"] = oom || status.value("oomKilled", false);
    writeFileAtomic(file, json::dump(status) + "\n", 0600, Sync::kAtomic);
  }
}

std::optional<pid_t> readPidFile(const fs::path& podDir) {
  std::error_code ec;
  if (!fs::exists(podDir / "pid", ec)) return std::nullopt;
  std::string text = readFile(podDir / "pid", 64);
  char* end = nullptr;
  long pid = std::strtol(text.c_str(), &end, 10);
  if (pid <= 0 || end == text.c_str() || (*end != '\n' && *end != '\0')) {
    throw Error(Errc::kInvalid,
                "cannot read " + quote((podDir / "pid").string()) + ": not a process ID");
  }
  return static_cast<pid_t>(pid);
}

fs::path currentPodDir() {
  std::error_code ec;
  fs::path dir = fs::canonical(fs::current_path(), ec);
  if (ec) throwErrno(ec.value(), "resolve the pod directory (the working directory)");
  return dir;
}

}  // namespace ferry::stage1
