// The "linux" object of config.json (config-linux.md).
#include <set>

#include "common/error.hpp"
#include "formats/oci/runtime_spec_json.hpp"

namespace ferry::oci::detail {

namespace {

bool isAbsolute(std::string_view p) { return !p.empty() && p[0] == '/'; }

LinuxNamespace namespaceFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  LinuxNamespace n;
  n.type = o.string("type");
  checkName(isNamespaceType(n.type), o.pathOf("type"), "namespace type", n.type);
  n.path = optString(o, "path");
  if (n.path && !isAbsolute(*n.path)) json::fail(o.pathOf("path"), "must be an absolute path");
  closeObject(o, opts);
  return n;
}

LinuxDevice deviceFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  LinuxDevice d;
  d.type = o.string("type");
  if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p") {
    json::fail(o.pathOf("type"), "unknown device type " + quote(d.type) + ": want c, b, u or p");
  }
  d.path = o.string("path");
  if (!isAbsolute(d.path)) json::fail(o.pathOf("path"), "must be an absolute path");
  d.major = optInt(o, "major", 0);
  d.minor = optInt(o, "minor", 0);
  if (d.type != "p" && (!d.major || !d.minor)) {
    json::fail(d.major ? o.pathOf("minor") : o.pathOf("major"),
               "required field is missing for device type " + quote(d.type));
  }
  if (auto v = optUint(o, "fileMode", 07777)) d.fileMode = static_cast<uint32_t>(*v);
  if (auto v = optUint(o, "uid", UINT32_MAX)) d.uid = static_cast<uint32_t>(*v);
  if (auto v = optUint(o, "gid", UINT32_MAX)) d.gid = static_cast<uint32_t>(*v);
  closeObject(o, opts);
  return d;
}

Json deviceToJson(const LinuxDevice& d) {
  Json out = {{"type", d.type}, {"path", d.path}};
  put(out, "major", d.major);
  put(out, "minor", d.minor);
  put(out, "fileMode", d.fileMode);
  put(out, "uid", d.uid);
  put(out, "gid", d.gid);
  return out;
}

LinuxDeviceCgroup deviceRuleFromJson(const Json& j, const std::string& path,
                                     const ParseOptions& opts) {
  Object o(j, path);
  LinuxDeviceCgroup r;
  r.allow = o.boolean("allow");
  r.type = optString(o, "type");
  if (r.type && *r.type != "a" && *r.type != "c" && *r.type != "b") {
    json::fail(o.pathOf("type"), "unknown device type " + quote(*r.type) + ": want a, c or b");
  }
  r.major = optInt(o, "major", -1);
  r.minor = optInt(o, "minor", -1);
  r.access = optString(o, "access");
  if (r.access && r.access->find_first_not_of("rwm") != std::string::npos) {
    json::fail(o.pathOf("access"), "must be made of r, w and m");
  }
  closeObject(o, opts);
  return r;
}

Json deviceRuleToJson(const LinuxDeviceCgroup& r) {
  Json out = {{"allow", r.allow}};
  put(out, "type", r.type);
  put(out, "major", r.major);
  put(out, "minor", r.minor);
  put(out, "access", r.access);
  return out;
}

LinuxMemory memoryFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  LinuxMemory m;
  m.limit = optInt(o, "limit", -1);
  m.reservation = optInt(o, "reservation", -1);
  m.swap = optInt(o, "swap", -1);
  m.kernel = optInt(o, "kernel", -1);
  m.kernelTCP = optInt(o, "kernelTCP", -1);
  m.swappiness = optUint(o, "swappiness", 100);
  m.disableOOMKiller = optBool(o, "disableOOMKiller");
  m.useHierarchy = optBool(o, "useHierarchy");
  m.checkBeforeUpdate = optBool(o, "checkBeforeUpdate");
  closeObject(o, opts);
  return m;
}

Json memoryToJson(const LinuxMemory& m) {
  Json out = Json::object();
  put(out, "limit", m.limit);
  put(out, "reservation", m.reservation);
  put(out, "swap", m.swap);
  put(out, "kernel", m.kernel);
  put(out, "kernelTCP", m.kernelTCP);
  put(out, "swappiness", m.swappiness);
  put(out, "disableOOMKiller", m.disableOOMKiller);
  put(out, "useHierarchy", m.useHierarchy);
  put(out, "checkBeforeUpdate", m.checkBeforeUpdate);
  return out;
}

LinuxCpu cpuFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  LinuxCpu c;
  c.shares = optUint(o, "shares");
  c.quota = optInt(o, "quota", -1);
  c.burst = optUint(o, "burst");
  c.period = optUint(o, "period");
  c.realtimeRuntime = optInt(o, "realtimeRuntime");
  c.realtimePeriod = optUint(o, "realtimePeriod");
  c.cpus = optString(o, "cpus");
  c.mems = optString(o, "mems");
  c.idle = optInt(o, "idle", 0, 1);
  closeObject(o, opts);
  return c;
}

Json cpuToJson(const LinuxCpu& c) {
  Json out = Json::object();
  put(out, "shares", c.shares);
  put(out, "quota", c.quota);
  put(out, "burst", c.burst);
  put(out, "period", c.period);
  put(out, "realtimeRuntime", c.realtimeRuntime);
  put(out, "realtimePeriod", c.realtimePeriod);
  put(out, "cpus", c.cpus);
  put(out, "mems", c.mems);
  put(out, "idle", c.idle);
  return out;
}

LinuxResources resourcesFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  LinuxResources r;
  if (const Json* v = opt(o, "devices")) {
    r.devices = arrayOf(*v, o.pathOf("devices"), withOpts(deviceRuleFromJson, opts));
  }
  if (const Json* v = opt(o, "memory")) r.memory = memoryFromJson(*v, o.pathOf("memory"), opts);
  if (const Json* v = opt(o, "cpu")) r.cpu = cpuFromJson(*v, o.pathOf("cpu"), opts);
  if (const Json* v = opt(o, "pids")) {
    Object p(*v, o.pathOf("pids"));
    r.pids = LinuxPids{p.integer("limit", -1)};
    closeObject(p, opts);
  }
  if (const Json* v = opt(o, "unified")) r.unified = stringMap(*v, o.pathOf("unified"));
  r.blockIO = optOpaque(o, "blockIO");
  r.hugepageLimits = optOpaque(o, "hugepageLimits", /*allowArray=*/true);
  r.network = optOpaque(o, "network");
  r.rdma = optOpaque(o, "rdma");
  closeObject(o, opts);
  return r;
}

Json resourcesToJson(const LinuxResources& r) {
  Json out = Json::object();
  if (!r.devices.empty()) {
    Json a = Json::array();
    for (const auto& d : r.devices) a.push_back(deviceRuleToJson(d));
    out["devices"] = std::move(a);
  }
  if (r.memory) out["memory"] = memoryToJson(*r.memory);
  if (r.cpu) out["cpu"] = cpuToJson(*r.cpu);
  if (r.pids) out["pids"] = {{"limit", r.pids->limit}};
  if (r.unified) out["unified"] = toJson(*r.unified);
  put(out, "blockIO", r.blockIO);
  put(out, "hugepageLimits", r.hugepageLimits);
  put(out, "network", r.network);
  put(out, "rdma", r.rdma);
  return out;
}

SeccompArg seccompArgFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  SeccompArg a;
  a.index = static_cast<uint32_t>(o.uinteger("index", 5));  // syscalls take six arguments
  a.value = o.uinteger("value");
  a.valueTwo = optUint(o, "valueTwo");
  a.op = o.string("op");
  checkName(isSeccompOperator(a.op), o.pathOf("op"), "seccomp operator", a.op);
  closeObject(o, opts);
  return a;
}

SeccompSyscall syscallFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  SeccompSyscall s;
  s.names = stringArray(o.require("names"), o.pathOf("names"));
  if (s.names.empty()) json::fail(o.pathOf("names"), "must have at least one entry");
  s.action = o.string("action");
  checkName(isSeccompAction(s.action), o.pathOf("action"), "seccomp action", s.action);
  if (auto v = optUint(o, "errnoRet", UINT32_MAX)) s.errnoRet = static_cast<uint32_t>(*v);
  if (const Json* v = opt(o, "args"))
    s.args = arrayOf(*v, o.pathOf("args"), withOpts(seccompArgFromJson, opts));
  closeObject(o, opts);
  return s;
}

Json syscallToJson(const SeccompSyscall& s) {
  Json out = {{"names", toJson(s.names)}, {"action", s.action}};
  put(out, "errnoRet", s.errnoRet);
  if (!s.args.empty()) {
    Json a = Json::array();
    for (const auto& arg : s.args) {
      Json x = {{"index", arg.index}, {"value", arg.value}};
      put(x, "valueTwo", arg.valueTwo);
      x["op"] = arg.op;
      a.push_back(std::move(x));
    }
    out["args"] = std::move(a);
  }
  return out;
}

Seccomp seccompFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Seccomp s;
  s.defaultAction = o.string("defaultAction");
  checkName(isSeccompAction(s.defaultAction), o.pathOf("defaultAction"), "seccomp action",
            s.defaultAction);
  if (auto v = optUint(o, "defaultErrnoRet", UINT32_MAX)) {
    s.defaultErrnoRet = static_cast<uint32_t>(*v);
  }
  if (const Json* v = opt(o, "architectures")) {
    s.architectures =
        namesAt(*v, o.pathOf("architectures"), isSeccompArch, "seccomp architecture", true);
  }
  if (const Json* v = opt(o, "flags")) {
    s.flags = namesAt(*v, o.pathOf("flags"), isSeccompFlag, "seccomp flag", true);
  }
  s.listenerPath = optString(o, "listenerPath");
  s.listenerMetadata = optString(o, "listenerMetadata");
  if (const Json* v = opt(o, "syscalls")) {
    s.syscalls = arrayOf(*v, o.pathOf("syscalls"), withOpts(syscallFromJson, opts));
  }
  closeObject(o, opts);
  return s;
}

Json seccompToJson(const Seccomp& s) {
  Json out = {{"defaultAction", s.defaultAction}};
  put(out, "defaultErrnoRet", s.defaultErrnoRet);
  if (!s.architectures.empty()) out["architectures"] = toJson(s.architectures);
  if (!s.flags.empty()) out["flags"] = toJson(s.flags);
  put(out, "listenerPath", s.listenerPath);
  put(out, "listenerMetadata", s.listenerMetadata);
  if (!s.syscalls.empty()) {
    Json a = Json::array();
    for (const auto& sc : s.syscalls) a.push_back(syscallToJson(sc));
    out["syscalls"] = std::move(a);
  }
  return out;
}

constexpr std::string_view kPropagations[] = {"private",  "shared",  "slave",  "unbindable",
                                              "rprivate", "rshared", "rslave", "runbindable"};

}  // namespace

Linux linuxFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Linux l;
  if (const Json* v = opt(o, "namespaces")) {
    std::string p = o.pathOf("namespaces");
    l.namespaces = arrayOf(*v, p, withOpts(namespaceFromJson, opts));
    // config-linux.md: a duplicated namespace type is an error.
    std::set<std::string_view> seen;
    for (size_t i = 0; i < l.namespaces.size(); ++i) {
      if (!seen.insert(l.namespaces[i].type).second) {
        json::fail(json::child(json::index(p, i), "type"),
                   "duplicate " + quote(l.namespaces[i].type));
      }
    }
  }
  l.uidMappings = optIdMappings(o, "uidMappings", opts);
  l.gidMappings = optIdMappings(o, "gidMappings", opts);
  if (const Json* v = opt(o, "devices"))
    l.devices = arrayOf(*v, o.pathOf("devices"), withOpts(deviceFromJson, opts));
  l.cgroupsPath = optString(o, "cgroupsPath");
  if (const Json* v = opt(o, "resources"))
    l.resources = resourcesFromJson(*v, o.pathOf("resources"), opts);
  l.sysctl = optStringMap(o, "sysctl");
  if (const Json* v = opt(o, "seccomp")) l.seccomp = seccompFromJson(*v, o.pathOf("seccomp"), opts);
  l.rootfsPropagation = optString(o, "rootfsPropagation");
  if (l.rootfsPropagation) {
    bool ok = false;
    for (auto p : kPropagations) ok = ok || p == *l.rootfsPropagation;
    checkName(ok, o.pathOf("rootfsPropagation"), "propagation", *l.rootfsPropagation);
  }
  if (const Json* v = opt(o, "maskedPaths"))
    l.maskedPaths = stringArray(*v, o.pathOf("maskedPaths"));
  if (const Json* v = opt(o, "readonlyPaths")) {
    l.readonlyPaths = stringArray(*v, o.pathOf("readonlyPaths"));
  }
  l.mountLabel = optString(o, "mountLabel");
  l.timeOffsets = optOpaque(o, "timeOffsets");
  l.intelRdt = optOpaque(o, "intelRdt");
  l.personality = optOpaque(o, "personality");
  closeObject(o, opts);
  return l;
}

Json linuxToJson(const Linux& l) {
  Json out = Json::object();
  if (!l.namespaces.empty()) {
    Json a = Json::array();
    for (const auto& n : l.namespaces) {
      Json x = {{"type", n.type}};
      put(x, "path", n.path);
      a.push_back(std::move(x));
    }
    out["namespaces"] = std::move(a);
  }
  if (!l.uidMappings.empty()) out["uidMappings"] = idMappingsToJson(l.uidMappings);
  if (!l.gidMappings.empty()) out["gidMappings"] = idMappingsToJson(l.gidMappings);
  if (!l.devices.empty()) {
    Json a = Json::array();
    for (const auto& d : l.devices) a.push_back(deviceToJson(d));
    out["devices"] = std::move(a);
  }
  put(out, "cgroupsPath", l.cgroupsPath);
  if (l.resources) out["resources"] = resourcesToJson(*l.resources);
  putMap(out, "sysctl", l.sysctl);
  if (l.seccomp) out["seccomp"] = seccompToJson(*l.seccomp);
  put(out, "rootfsPropagation", l.rootfsPropagation);
  if (!l.maskedPaths.empty()) out["maskedPaths"] = toJson(l.maskedPaths);
  if (!l.readonlyPaths.empty()) out["readonlyPaths"] = toJson(l.readonlyPaths);
  put(out, "mountLabel", l.mountLabel);
  put(out, "timeOffsets", l.timeOffsets);
  put(out, "intelRdt", l.intelRdt);
  put(out, "personality", l.personality);
  return out;
}

}  // namespace ferry::oci::detail
