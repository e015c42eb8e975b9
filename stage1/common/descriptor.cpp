#include "stage1/common/descriptor.hpp"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/entrypoint.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

Descriptor Descriptor::load(const fs::path& dirIn) {
  fs::path file = dirIn / kDescriptorFile;
  std::string what = quote(file.string());
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(Errc::kNotFound,
                "no stage1 at " + quote(dirIn.string()) + ": " + what + " does not exist");
  }
  json::Json j = json::parse(readFile(file, 1 << 20), file.string());
  Descriptor d;
  d.dir = fs::canonical(dirIn);
  try {
    json::asObject(j, "");
    if (!j.contains("name")) json::fail("name", "missing");
    d.name = json::asString(j["name"], "name");
    if (!j.contains("interfaceVersion")) json::fail("interfaceVersion", "missing");
    d.interfaceVersion =
        static_cast<int>(json::asInt(j["interfaceVersion"], "interfaceVersion", 0, 1000));
    if (d.interfaceVersion != kInterfaceVersion) {
      throw Error(Errc::kUnsupported, "interfaceVersion: " + std::to_string(d.interfaceVersion) +
                                          " is not supported (ferry " + "speaks version " +
                                          std::to_string(kInterfaceVersion) + ")");
    }
    if (!j.contains("entrypoints")) json::fail("entrypoints", "missing");
    const auto& eps = json::asObject(j["entrypoints"], "entrypoints");
    for (const auto& [k, v] : eps.items()) {
      std::string path = json::child("entrypoints", k);
      const std::string& rel = json::asString(v, path);
      fs::path p = fs::path(rel).lexically_normal();
      if (rel.empty() || p.is_absolute() || *p.begin() == "..") {
        json::fail(path, "must be a relative path inside the stage1 directory");
      }
      if (::access((d.dir / p).c_str(), X_OK) != 0) {
        json::fail(path, quote((d.dir / p).string()) + " is not executable");
      }
      d.entrypoints[k] = p.string();
    }
    for (const char* required : {"run", "gc"}) {
      if (!d.entrypoints.contains(required)) {
        json::fail(json::child("entrypoints", required), "missing");
      }
    }
    if (j.contains("features")) d.features = json::asObject(j["features"], "features");
    if (auto it = d.features.find(std::string(feature::kMaxApps)); it != d.features.end()) {
      json::asInt(*it, json::child("features", feature::kMaxApps), 1, 1 << 20);
    }
  } catch (const Error& e) {
    throw Error(e.code(), "invalid stage1 " + what + ": " + e.what());
  }
  return d;
}

bool Descriptor::feature(std::string_view name) const {
  auto it = features.find(std::string(name));
  return it != features.end() && it->is_boolean() && it->get<bool>();
}

std::optional<std::vector<std::string>> Descriptor::list(std::string_view name) const {
  auto it = features.find(std::string(name));
  if (it == features.end()) return std::nullopt;
  std::vector<std::string> out;
  if (it->is_array()) {
    for (const auto& m : *it) {
      if (m.is_string()) out.push_back(m.get<std::string>());
    }
  }
  return out;
}

bool Descriptor::supportsNet(std::string_view mode) const {
  auto modes = list(feature::kNet);
  if (!modes) return false;
  for (const auto& m : *modes) {
    if (m == mode) return true;
  }
  return false;
}

std::optional<int64_t> Descriptor::maxApps() const {
  auto it = features.find(std::string(feature::kMaxApps));
  if (it == features.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

namespace {

// The members of an OCI linux.resources object that set something.
std::vector<std::string> resourcesSet(const json::Json* r) {
  std::vector<std::string> out;
  if (r == nullptr || !r->is_object()) return out;
  for (const auto& [k, v] : r->items()) {
    if (!v.is_null()) out.push_back(k);
  }
  return out;
}

const json::Json* member(const json::Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

}  // namespace

PodAsk PodAsk::of(const RuntimeOptions& rt) {
  PodAsk a;
  a.net = rt.net;
  a.ipc = rt.ipc;
  a.interactive = rt.interactive;
  a.mds = rt.mds.has_value();
  a.privateUsers = rt.privateUsers.has_value();
  a.logDriver = rt.logDriver;
  a.options = rt.stage1Options;
  a.apps = rt.apps.size();
  if (rt.podResources) a.podResources = resourcesSet(&*rt.podResources);
  return a;
}

void PodAsk::addApp(const std::string& name, const json::Json& config) {
  App app{name, {}, {}};
  if (const json::Json* linux = member(config, "linux")) {
    if (const json::Json* sysctl = member(*linux, "sysctl"); sysctl && sysctl->is_object()) {
      for (const auto& [k, v] : sysctl->items()) app.sysctls.push_back(k);
    }
    app.resources = resourcesSet(member(*linux, "resources"));
  }
  appAsks.push_back(std::move(app));
}

void refuseUnsupported(const Descriptor& d, const PodAsk& ask) {
  std::string who = "not supported: stage1 " + quote(d.name);
  auto refuse = [&](std::string_view feat, const std::string& what) {
    std::string msg = who + " " + what;
    auto reasons = d.features.find(std::string(feature::kReasons));
    if (reasons != d.features.end() && reasons->is_object()) {
      auto r = reasons->find(std::string(feat));
      if (r != reasons->end() && r->is_string() && !r->get<std::string>().empty()) {
        msg += ": " + r->get<std::string>();
      }
    }
    throw Error(Errc::kUnsupported, msg);
  };
  auto joined = [](const std::string& flag, const std::vector<std::string>& v) {
    std::string out;
    for (const auto& m : v) out += (out.empty() ? "" : ", ") + flag + m;
    return out.empty() ? "no " + flag : out;
  };
  // A feature added after interface version 1 shipped: absent reads as "any" (a list) or true.
  auto offered = [&](std::string_view feat) {
    auto it = d.features.find(std::string(feat));
    return it == d.features.end() || !it->is_boolean() || it->get<bool>();
  };
  auto inList = [&](std::string_view feat, const std::string& v) {
    auto l = d.list(feat);
    return !l || std::find(l->begin(), l->end(), v) != l->end();
  };
  if (!d.supportsNet(ask.net)) {
    std::string flag = ask.netFlag.empty() ? "--net=" + ask.net : ask.netFlag;
    refuse(feature::kNet,
           "does not offer " + flag + " (it offers " +
               joined("--net=", d.list(feature::kNet).value_or(std::vector<std::string>{})) + ")");
  }
  if (ask.ipc != "auto") {
    auto ipcs = d.list(feature::kIpc).value_or(std::vector<std::string>{});
    if (std::find(ipcs.begin(), ipcs.end(), ask.ipc) == ipcs.end()) {
      refuse(feature::kIpc, "does not offer --ipc=" + ask.ipc + " (it offers " +
                                (ipcs.empty() ? "--ipc=auto only" : joined("--ipc=", ipcs)) + ")");
    }
  }
  if (ask.interactive && !d.feature(feature::kInteractive)) {
    refuse(feature::kInteractive, "does not offer --interactive");
  }
  if (ask.mds && !d.feature(feature::kMds)) refuse(feature::kMds, "does not offer --mds-register");
  if (ask.privateUsers && !d.feature(feature::kPrivateUsers)) {
    refuse(feature::kPrivateUsers, "does not offer --private-users");
  }
  if (ask.hostname && !offered(feature::kHostname)) {
    refuse(feature::kHostname, "does not offer --hostname");
  }
  if (!inList(feature::kLogDrivers, ask.logDriver)) {
    refuse(feature::kLogDrivers,
           "does not offer --log-driver=" + ask.logDriver + " (it offers " +
               joined("--log-driver=",
                      d.list(feature::kLogDrivers).value_or(std::vector<std::string>{})) +
               ")");
  }
  for (const auto& [name, value] : ask.options) {
    auto all = d.features.find(std::string(feature::kOptions));
    const json::Json* values = nullptr;
    if (all != d.features.end() && all->is_object() && all->contains(name)) values = &(*all)[name];
    if (values == nullptr || !values->is_array()) {
      refuse(feature::kOptions, "takes no option " + name + " (--stage1-opt " + name + "=…)");
    }
    std::vector<std::string> allowed;
    for (const auto& v : *values) {
      if (v.is_string()) allowed.push_back(v.get<std::string>());
    }
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      refuse(feature::kOptions, "does not take " + name + "=" + value + " (it takes " +
                                    joined(name + "=", allowed) + ")");
    }
  }
  if (auto max = d.maxApps(); max && ask.apps && static_cast<int64_t>(*ask.apps) > *max) {
    refuse(feature::kMaxApps, "runs at most " + std::to_string(*max) +
                                  (*max == 1 ? " app" : " apps") + " in a pod (this one has " +
                                  std::to_string(*ask.apps) + ")");
  }
  for (const auto& r : ask.podResources) {
    if (!inList(feature::kResources, r)) {
      refuse(feature::kResources, "does not apply a pod's " + r + " limit (isolators)");
    }
  }
  for (const auto& app : ask.appAsks) {
    if (!app.sysctls.empty() && !offered(feature::kSysctl)) {
      refuse(feature::kSysctl, "does not offer sysctls: app " + quote(app.name) + " sets sysctl " +
                                   app.sysctls.front());
    }
    for (const auto& r : app.resources) {
      if (!inList(feature::kResources, r)) {
        refuse(feature::kResources, "does not apply an app's " + r + " limit: app " +
                                        quote(app.name) + " sets linux.resources." + r);
      }
    }
  }
}

void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt) {
  refuseUnsupported(d, PodAsk::of(rt));
}

void refuseUnsupported(const Descriptor& d, const RuntimeOptions& rt, const fs::path& podDir) {
  PodAsk ask = PodAsk::of(rt);
  // config.json is read only when the descriptor limits what an app may ask.
  bool limits = d.features.contains(std::string(feature::kResources));
  if (auto it = d.features.find(std::string(feature::kSysctl));
      it != d.features.end() && it->is_boolean() && !it->get<bool>()) {
    limits = true;
  }
  if (limits) {
    for (const RuntimeApp& app : rt.apps) {
      ask.addApp(app.name, appConfigJson(podDir, app.name));
    }
  }
  refuseUnsupported(d, ask);
}

Descriptor ownDescriptor() { return Descriptor::load(selfPath().parent_path().parent_path()); }

}  // namespace ferry::stage1
