#include "formats/oci/runtime_spec.hpp"

#include <array>
#include <set>

#include "common/error.hpp"
#include "formats/oci/runtime_spec_json.hpp"

namespace ferry::oci {

namespace detail {

void checkName(bool valid, std::string_view path, std::string_view what, std::string_view value) {
  if (!valid) json::fail(path, "unknown " + std::string(what) + " " + quote(value));
}

std::vector<std::string> namesAt(const Json& j, std::string_view path,
                                 bool (*valid)(std::string_view), std::string_view what,
                                 bool unique) {
  std::vector<std::string> names = stringArray(j, path);
  std::set<std::string_view> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string p = json::index(path, i);
    checkName(valid(names[i]), p, what, names[i]);
    if (unique && !seen.insert(names[i]).second) json::fail(p, "duplicate " + quote(names[i]));
  }
  return names;
}

IdMapping idMappingFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  IdMapping m;
  m.containerID = static_cast<uint32_t>(o.uinteger("containerID", UINT32_MAX));
  m.hostID = static_cast<uint32_t>(o.uinteger("hostID", UINT32_MAX));
  m.size = static_cast<uint32_t>(o.uinteger("size", UINT32_MAX));
  closeObject(o, opts);
  return m;
}

Json idMappingToJson(const IdMapping& m) {
  Json out = Json::object();
  out["containerID"] = m.containerID;
  out["hostID"] = m.hostID;
  out["size"] = m.size;
  return out;
}

std::vector<IdMapping> optIdMappings(Object& o, std::string_view key, const ParseOptions& opts) {
  const Json* v = opt(o, key);
  if (v == nullptr) return {};
  return arrayOf(*v, o.pathOf(key), withOpts(idMappingFromJson, opts));
}

Json idMappingsToJson(const std::vector<IdMapping>& v) {
  Json out = Json::array();
  for (const auto& m : v) out.push_back(idMappingToJson(m));
  return out;
}

std::optional<Json> optOpaque(Object& o, std::string_view key, bool allowArray) {
  const Json* v = opt(o, key);
  if (v == nullptr) return std::nullopt;
  if (!(v->is_object() || (allowArray && v->is_array()))) {
    json::asObject(*v, o.pathOf(key));
  }
  return *v;
}

}  // namespace detail

using namespace detail;

namespace {

bool isAbsolute(std::string_view p) { return !p.empty() && p[0] == '/'; }

std::vector<std::string> optStrings(Object& o, std::string_view key) {
  return optStringArray(o, key).value_or(std::vector<std::string>{});
}

void putStrings(Json& out, std::string_view key, const std::vector<std::string>& v) {
  if (!v.empty()) out[std::string(key)] = detail::toJson(v);
}

ProcessUser userFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  ProcessUser u;
  u.uid = static_cast<uint32_t>(o.uinteger("uid", UINT32_MAX));
  u.gid = static_cast<uint32_t>(o.uinteger("gid", UINT32_MAX));
  if (auto v = optUint(o, "umask", 07777)) u.umask = static_cast<uint32_t>(*v);
  if (const Json* v = opt(o, "additionalGids")) {
    std::string p = o.pathOf("additionalGids");
    json::asArray(*v, p);
    for (size_t i = 0; i < v->size(); ++i) {
      u.additionalGids.push_back(
          static_cast<uint32_t>(json::asUint((*v)[i], json::index(p, i), UINT32_MAX)));
    }
  }
  u.username = optString(o, "username");
  closeObject(o, opts);
  return u;
}

Json userToJson(const ProcessUser& u) {
  Json out = Json::object();
  out["uid"] = u.uid;
  out["gid"] = u.gid;
  put(out, "umask", u.umask);
  if (!u.additionalGids.empty()) out["additionalGids"] = u.additionalGids;
  put(out, "username", u.username);
  return out;
}

constexpr std::string_view kCapabilitySets[] = {"bounding", "effective", "inheritable", "permitted",
                                                "ambient"};

Capabilities capabilitiesFromJson(const Json& j, const std::string& path,
                                  const ParseOptions& opts) {
  Object o(j, path);
  Capabilities c;
  std::optional<std::vector<std::string>>* sets[] = {&c.bounding, &c.effective, &c.inheritable,
                                                     &c.permitted, &c.ambient};
  for (size_t i = 0; i < std::size(kCapabilitySets); ++i) {
    if (const Json* v = opt(o, kCapabilitySets[i])) {
      *sets[i] = namesAt(*v, o.pathOf(kCapabilitySets[i]), isCapability, "capability", false);
    }
  }
  closeObject(o, opts);
  return c;
}

Json capabilitiesToJson(const Capabilities& c) {
  Json out = Json::object();
  put(out, "bounding", c.bounding);
  put(out, "effective", c.effective);
  put(out, "inheritable", c.inheritable);
  put(out, "permitted", c.permitted);
  put(out, "ambient", c.ambient);
  return out;
}

Rlimit rlimitFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Rlimit r;
  r.type = o.string("type");
  checkName(isRlimit(r.type), o.pathOf("type"), "rlimit", r.type);
  r.hard = o.uinteger("hard");
  r.soft = o.uinteger("soft");
  if (r.soft > r.hard) json::fail(o.pathOf("soft"), "must not exceed hard");
  closeObject(o, opts);
  return r;
}

Process processFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Process p;
  p.terminal = optBool(o, "terminal");
  if (const Json* v = opt(o, "consoleSize")) {
    Object c(*v, o.pathOf("consoleSize"));
    p.consoleSize = ConsoleSize{c.uinteger("height"), c.uinteger("width")};
    closeObject(c, opts);
  }
  p.user = userFromJson(o.require("user"), o.pathOf("user"), opts);
  p.args = stringArray(o.require("args"), o.pathOf("args"));
  if (p.args.empty()) json::fail(o.pathOf("args"), "must have at least one entry");
  p.env = optStrings(o, "env");
  for (size_t i = 0; i < p.env.size(); ++i) {
    if (p.env[i].find('=') == std::string::npos) {
      json::fail(json::index(o.pathOf("env"), i), "must be NAME=value");
    }
  }
  p.cwd = o.string("cwd");
  if (!isAbsolute(p.cwd)) json::fail(o.pathOf("cwd"), "must be an absolute path");
  if (const Json* v = opt(o, "capabilities")) {
    p.capabilities = capabilitiesFromJson(*v, o.pathOf("capabilities"), opts);
  }
  if (const Json* v = opt(o, "rlimits")) {
    p.rlimits = arrayOf(*v, o.pathOf("rlimits"), withOpts(rlimitFromJson, opts));
    // config.md: duplicated types are an error.
    std::set<std::string_view> seen;
    for (size_t i = 0; i < p.rlimits.size(); ++i) {
      if (!seen.insert(p.rlimits[i].type).second) {
        json::fail(json::child(json::index(o.pathOf("rlimits"), i), "type"),
                   "duplicate " + quote(p.rlimits[i].type));
      }
    }
  }
  p.noNewPrivileges = optBool(o, "noNewPrivileges");
  p.apparmorProfile = optString(o, "apparmorProfile");
  p.oomScoreAdj = optInt(o, "oomScoreAdj", -1000, 1000);
  p.selinuxLabel = optString(o, "selinuxLabel");
  p.scheduler = optOpaque(o, "scheduler");
  p.ioPriority = optOpaque(o, "ioPriority");
  p.execCPUAffinity = optOpaque(o, "execCPUAffinity");
  closeObject(o, opts);
  return p;
}

Json processToJson(const Process& p) {
  Json out = Json::object();
  put(out, "terminal", p.terminal);
  if (p.consoleSize) {
    out["consoleSize"] = {{"height", p.consoleSize->height}, {"width", p.consoleSize->width}};
  }
  out["user"] = userToJson(p.user);
  out["args"] = detail::toJson(p.args);
  putStrings(out, "env", p.env);
  out["cwd"] = p.cwd;
  if (p.capabilities) out["capabilities"] = capabilitiesToJson(*p.capabilities);
  if (!p.rlimits.empty()) {
    Json rs = Json::array();
    for (const auto& r : p.rlimits) {
      rs.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    }
    out["rlimits"] = std::move(rs);
  }
  put(out, "noNewPrivileges", p.noNewPrivileges);
  put(out, "apparmorProfile", p.apparmorProfile);
  put(out, "oomScoreAdj", p.oomScoreAdj);
  put(out, "selinuxLabel", p.selinuxLabel);
  put(out, "scheduler", p.scheduler);
  put(out, "ioPriority", p.ioPriority);
  put(out, "execCPUAffinity", p.execCPUAffinity);
  return out;
}

Mount mountFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Mount m;
  m.destination = o.string("destination");
  if (m.destination.empty()) json::fail(o.pathOf("destination"), "must not be empty");
  m.type = optString(o, "type");
  m.source = optString(o, "source");
  m.options = optStrings(o, "options");
  m.uidMappings = optIdMappings(o, "uidMappings", opts);
  m.gidMappings = optIdMappings(o, "gidMappings", opts);
  closeObject(o, opts);
  return m;
}

Json mountToJson(const Mount& m) {
  Json out = Json::object();
  out["destination"] = m.destination;
  put(out, "type", m.type);
  put(out, "source", m.source);
  putStrings(out, "options", m.options);
  if (!m.uidMappings.empty()) out["uidMappings"] = idMappingsToJson(m.uidMappings);
  if (!m.gidMappings.empty()) out["gidMappings"] = idMappingsToJson(m.gidMappings);
  return out;
}

Hook hookFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Hook h;
  h.path = o.string("path");
  if (!isAbsolute(h.path)) json::fail(o.pathOf("path"), "must be an absolute path");
  h.args = optStrings(o, "args");
  h.env = optStrings(o, "env");
  h.timeout = optInt(o, "timeout", 1);
  closeObject(o, opts);
  return h;
}

Json hookToJson(const Hook& h) {
  Json out = Json::object();
  out["path"] = h.path;
  putStrings(out, "args", h.args);
  putStrings(out, "env", h.env);
  put(out, "timeout", h.timeout);
  return out;
}

constexpr std::string_view kHookKinds[] = {"prestart",       "createRuntime", "createContainer",
                                           "startContainer", "poststart",     "poststop"};

// The hook lists in kHookKinds order; const-ness follows the argument.
template <typename H>
auto hookLists(H& h) {
  return std::array{&h.prestart,       &h.createRuntime, &h.createContainer,
                    &h.startContainer, &h.poststart,     &h.poststop};
}

Hooks hooksFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Hooks h;
  for (size_t i = 0; i < std::size(kHookKinds); ++i) {
    if (const Json* v = opt(o, kHookKinds[i])) {
      *hookLists(h)[i] = arrayOf(*v, o.pathOf(kHookKinds[i]), withOpts(hookFromJson, opts));
    }
  }
  closeObject(o, opts);
  return h;
}

Json hooksToJson(const Hooks& hooks) {
  Json out = Json::object();
  for (size_t i = 0; i < std::size(kHookKinds); ++i) {
    const std::vector<Hook>& list = *hookLists(hooks)[i];
    if (list.empty()) continue;
    Json a = Json::array();
    for (const auto& hook : list) a.push_back(hookToJson(hook));
    out[std::string(kHookKinds[i])] = std::move(a);
  }
  return out;
}

}  // namespace

RuntimeSpec RuntimeSpec::fromJson(const Json& j, const std::string& path,
                                  const ParseOptions& opts) {
  Object o(j, path);
  RuntimeSpec s;
  s.ociVersion = o.string("ociVersion");
  if (s.ociVersion.empty() || s.ociVersion[0] != '1') {
    json::fail(o.pathOf("ociVersion"), "not supported: version " + quote(s.ociVersion));
  }
  if (const Json* v = opt(o, "process")) s.process = processFromJson(*v, o.pathOf("process"), opts);
  if (const Json* v = opt(o, "root")) {
    Object r(*v, o.pathOf("root"));
    s.root.emplace();
    s.root->path = r.string("path");
    s.root->readonly = optBool(r, "readonly");
    if (s.root->path.empty()) json::fail(r.pathOf("path"), "must not be empty");
    closeObject(r, opts);
  }
  s.hostname = optString(o, "hostname");
  s.domainname = optString(o, "domainname");
  if (const Json* v = opt(o, "mounts"))
    s.mounts = arrayOf(*v, o.pathOf("mounts"), withOpts(mountFromJson, opts));
  if (const Json* v = opt(o, "hooks")) s.hooks = hooksFromJson(*v, o.pathOf("hooks"), opts);
  s.annotations = optStringMap(o, "annotations");
  if (const Json* v = opt(o, "linux")) s.linuxConfig = linuxFromJson(*v, o.pathOf("linux"), opts);
  closeObject(o, opts);
  return s;
}

RuntimeSpec RuntimeSpec::parse(std::string_view text, std::string_view what,
                               const ParseOptions& opts) {
  return fromJson(json::parse(text, what), "", opts);
}

Json RuntimeSpec::toJson() const {
  Json out = Json::object();
  out["ociVersion"] = ociVersion;
  if (process) out["process"] = processToJson(*process);
  if (root) {
    Json r = {{"path", root->path}};
    put(r, "readonly", root->readonly);
    out["root"] = std::move(r);
  }
  put(out, "hostname", hostname);
  put(out, "domainname", domainname);
  if (!mounts.empty()) {
    Json ms = Json::array();
    for (const auto& m : mounts) ms.push_back(mountToJson(m));
    out["mounts"] = std::move(ms);
  }
  if (hooks) out["hooks"] = hooksToJson(*hooks);
  putMap(out, "annotations", annotations);
  if (linuxConfig) out["linux"] = linuxToJson(*linuxConfig);
  return out;
}

std::string RuntimeSpec::dump() const { return json::dump(toJson(), /*pretty=*/true); }

}  // namespace ferry::oci
