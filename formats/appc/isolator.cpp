#include "formats/appc/isolator.hpp"

#include <map>

#include "common/error.hpp"
#include "formats/appc/capabilities.hpp"
#include "formats/appc/json_util.hpp"

namespace ferry::appc {

// Outside the anonymous namespace: clang warns about an unused variable template of internal
// linkage when no static_assert below is instantiated (which is the point).
template <typename>
inline constexpr bool kAlwaysFalse = false;

namespace {

using json::Json;

// ---- resources ----

Quantity quantityAt(const Json& j, const std::string& path) {
  if (!j.is_string()) {
    json::fail(path, "must be a quantity, not " + std::string(json::typeName(j)));
  }
  const std::string& s = j.get_ref<const std::string&>();
  Quantity q = [&] {
    try {
      return Quantity::parse(s);
    } catch (const Error&) {
      json::fail(path, "must be a quantity, not " + quote(s));
    }
  }();
  if (q.negative()) json::fail(path, "must not be negative");
  return q;
}

template <typename T>
T resourceFromJson(const Json& j, const std::string& path, std::string_view name,
                   bool needsDefault) {
  json::Object o(j, path);
  T r;
  r.isDefault = o.optBool("default");
  if (const Json* v = o.find("request")) r.request = quantityAt(*v, o.pathOf("request"));
  if (needsDefault) {
    r.limit = quantityAt(o.require("limit"), o.pathOf("limit"));
  } else if (const Json* v = o.find("limit")) {
    r.limit = quantityAt(*v, o.pathOf("limit"));
  }
  o.done();
  if (needsDefault) {
    if (r.isDefault != true) {
      json::fail(o.pathOf("default"),
                 "must be true for " + std::string(name) + " (it applies to every device)");
    }
    if (r.request) json::fail(o.pathOf("request"), "is not supported by " + std::string(name));
  } else {
    if (r.isDefault == true) {
      json::fail(o.pathOf("default"), "must be false for " + std::string(name));
    }
    if (!r.request && !r.limit) json::fail(path, "needs a request or a limit");
  }
  return r;
}

Json resourceToJson(const ResourceValue& r) {
  Json o = Json::object();
  if (r.isDefault) o["default"] = *r.isDefault;
  if (r.request) o["request"] = r.request->str();
  if (r.limit) o["limit"] = r.limit->str();
  return o;
}

// ---- capabilities ----

std::vector<std::string> capabilitySetFromJson(const Json& j, const std::string& path) {
  json::Object o(j, path);
  std::string setPath = o.pathOf("set");
  std::vector<std::string> set = detail::stringList(o.require("set"), setPath);
  o.done();
  if (set.empty()) json::fail(setPath, "must not be empty");
  for (size_t i = 0; i < set.size(); ++i) {
    if (!capabilityNumber(set[i])) {
      json::fail(json::index(setPath, i),
                 "unknown Linux capability " + quote(set[i]) + " (names look like CAP_NET_ADMIN)");
    }
  }
  return set;
}

Json capabilitySetToJson(const std::vector<std::string>& set) {
  Json o = Json::object();
  o["set"] = detail::toJson(set);
  return o;
}

// ---- seccomp ----

bool isSyscallName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "@scope/name": the spec reserves "@appc.io/"; implementations may add their own scopes.
bool isWildcard(std::string_view s) {
  if (s.size() < 2 || s[0] != '@') return false;
  auto slash = s.find('/');
  return slash != std::string_view::npos && slash > 1 && slash + 1 < s.size();
}

bool isErrnoName(std::string_view s) {
  if (s.size() < 2 || s[0] != 'E') return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

template <typename T>
T seccompFromJson(const Json& j, const std::string& path) {
  json::Object o(j, path);
  T s;
  s.errnoName = o.optString("errno");
  std::string setPath = o.pathOf("set");
  s.set = detail::stringList(o.require("set"), setPath);
  o.done();
  if (s.errnoName && !s.errnoName->empty() && !isErrnoName(*s.errnoName)) {
    json::fail(o.pathOf("errno"),
               "must be an upper-case errno name like \"EPERM\", not " + quote(*s.errnoName));
  }
  if (s.set.empty()) json::fail(setPath, "must not be empty");
  for (size_t i = 0; i < s.set.size(); ++i) {
    if (!isSyscallName(s.set[i]) && !isWildcard(s.set[i])) {
      json::fail(json::index(setPath, i),
                 "must be a system call name or a \"@scope/wildcard\", not " + quote(s.set[i]));
    }
  }
  return s;
}

Json seccompToJson(const LinuxSeccompSet& s) {
  Json o = Json::object();
  if (s.errnoName) o["errno"] = *s.errnoName;
  o["set"] = detail::toJson(s.set);
  return o;
}

// ---- others ----

LinuxSelinuxContext selinuxFromJson(const Json& j, const std::string& path) {
  json::Object o(j, path);
  LinuxSelinuxContext c;
  c.user = o.string("user");
  c.role = o.string("role");
  c.type = o.string("type");
  c.level = o.string("level");
  o.done();
  auto check = [&](const std::string& v, std::string_view key, bool colonAllowed) {
    if (v.empty()) json::fail(o.pathOf(key), "must not be empty");
    if (!colonAllowed && v.find(':') != std::string::npos) {
      json::fail(o.pathOf(key), "must not contain ':'");
    }
  };
  check(c.user, "user", false);
  check(c.role, "role", false);
  check(c.type, "type", false);
  check(c.level, "level", true);  // an MLS range like "s0:c1,c2" has colons
  return c;
}

UnixSysctl sysctlFromJson(const Json& j, const std::string& path) {
  UnixSysctl s{detail::stringMap(j, path)};
  for (const auto& [key, value] : s.entries) {
    bool ok = !key.empty();
    for (char c : key) {
      if (c <= ' ' || c == 0x7f || c == '=') ok = false;
    }
    if (!ok) json::fail(json::child(path, key), "is not a sysctl name");
  }
  return s;
}

// Kinds that may appear more than once in one list (the spec leaves it open; the reference
// implementation allows it) and pairs that exclude each other.
bool multipleAllowed(const IsolatorValue& v) {
  return std::holds_alternative<LinuxCapabilitiesRetainSet>(v) ||
         std::holds_alternative<LinuxCapabilitiesRemoveSet>(v) ||
         std::holds_alternative<LinuxNoNewPrivileges>(v) ||
         std::holds_alternative<UnknownIsolator>(v);
}

std::string_view conflictOf(std::string_view name) {
  if (name == kLinuxSeccompRetainSetName) return kLinuxSeccompRemoveSetName;
  if (name == kLinuxSeccompRemoveSetName) return kLinuxSeccompRetainSetName;
  if (name == kLinuxCapabilitiesRetainSetName) return kLinuxCapabilitiesRemoveSetName;
  if (name == kLinuxCapabilitiesRemoveSetName) return kLinuxCapabilitiesRetainSetName;
  return {};
}

}  // namespace

AcIdentifier Isolator::name() const {
  return std::visit(
      [](const auto& v) -> AcIdentifier {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ResourceCpu>)
          return AcIdentifier::parse(kResourceCpuName);
        else if constexpr (std::is_same_v<T, ResourceMemory>)
          return AcIdentifier::parse(kResourceMemoryName);
        else if constexpr (std::is_same_v<T, ResourceBlockBandwidth>)
          return AcIdentifier::parse(kResourceBlockBandwidthName);
        else if constexpr (std::is_same_v<T, ResourceBlockIops>)
          return AcIdentifier::parse(kResourceBlockIopsName);
        else if constexpr (std::is_same_v<T, ResourceNetworkBandwidth>)
          return AcIdentifier::parse(kResourceNetworkBandwidthName);
        else if constexpr (std::is_same_v<T, LinuxCapabilitiesRetainSet>)
          return AcIdentifier::parse(kLinuxCapabilitiesRetainSetName);
        else if constexpr (std::is_same_v<T, LinuxCapabilitiesRemoveSet>)
          return AcIdentifier::parse(kLinuxCapabilitiesRemoveSetName);
        else if constexpr (std::is_same_v<T, LinuxSeccompRetainSet>)
          return AcIdentifier::parse(kLinuxSeccompRetainSetName);
        else if constexpr (std::is_same_v<T, LinuxSeccompRemoveSet>)
          return AcIdentifier::parse(kLinuxSeccompRemoveSetName);
        else if constexpr (std::is_same_v<T, LinuxNoNewPrivileges>)
          return AcIdentifier::parse(kLinuxNoNewPrivilegesName);
        else if constexpr (std::is_same_v<T, LinuxOomScoreAdj>)
          return AcIdentifier::parse(kLinuxOomScoreAdjName);
        else if constexpr (std::is_same_v<T, LinuxCpuShares>)
          return AcIdentifier::parse(kLinuxCpuSharesName);
        else if constexpr (std::is_same_v<T, LinuxSelinuxContext>)
          return AcIdentifier::parse(kLinuxSelinuxContextName);
        else if constexpr (std::is_same_v<T, UnixSysctl>)
          return AcIdentifier::parse(kUnixSysctlName);
        else if constexpr (std::is_same_v<T, UnknownIsolator>)
          return v.name;
        else
          static_assert(kAlwaysFalse<T>, "unhandled isolator kind");
      },
      value);
}

Isolator Isolator::fromJson(const Json& j, std::string_view path) {
  json::Object o(j, std::string(path));
  AcIdentifier name = detail::parseField<AcIdentifier>(o, "name");
  const Json& v = o.require("value");
  o.done();
  const std::string vp = o.pathOf("value");
  const std::string& n = name.str();
  if (n == kResourceCpuName) return {resourceFromJson<ResourceCpu>(v, vp, n, false)};
  if (n == kResourceMemoryName) return {resourceFromJson<ResourceMemory>(v, vp, n, false)};
  if (n == kResourceBlockBandwidthName) {
    return {resourceFromJson<ResourceBlockBandwidth>(v, vp, n, true)};
  }
  if (n == kResourceBlockIopsName) return {resourceFromJson<ResourceBlockIops>(v, vp, n, true)};
  if (n == kResourceNetworkBandwidthName) {
    return {resourceFromJson<ResourceNetworkBandwidth>(v, vp, n, true)};
  }
  if (n == kLinuxCapabilitiesRetainSetName) {
    return {LinuxCapabilitiesRetainSet{capabilitySetFromJson(v, vp)}};
  }
  if (n == kLinuxCapabilitiesRemoveSetName) {
    return {LinuxCapabilitiesRemoveSet{capabilitySetFromJson(v, vp)}};
  }
  if (n == kLinuxSeccompRetainSetName) return {seccompFromJson<LinuxSeccompRetainSet>(v, vp)};
  if (n == kLinuxSeccompRemoveSetName) return {seccompFromJson<LinuxSeccompRemoveSet>(v, vp)};
  if (n == kLinuxNoNewPrivilegesName) return {LinuxNoNewPrivileges{json::asBool(v, vp)}};
  if (n == kLinuxOomScoreAdjName) {
    return {LinuxOomScoreAdj{static_cast<int>(json::asInt(v, vp, -1000, 1000))}};
  }
  if (n == kLinuxCpuSharesName) {
    return {LinuxCpuShares{static_cast<int>(json::asInt(v, vp, 2, 262144))}};
  }
  if (n == kLinuxSelinuxContextName) return {selinuxFromJson(v, vp)};
  if (n == kUnixSysctlName) return {sysctlFromJson(v, vp)};
  return {UnknownIsolator{std::move(name), v}};
}

Json Isolator::toJson() const {
  Json o = Json::object();
  o["name"] = name().str();
  o["value"] = std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_base_of_v<ResourceValue, T>)
          return resourceToJson(v);
        else if constexpr (std::is_same_v<T, LinuxCapabilitiesRetainSet> ||
                           std::is_same_v<T, LinuxCapabilitiesRemoveSet>)
          return capabilitySetToJson(v.set);
        else if constexpr (std::is_base_of_v<LinuxSeccompSet, T>)
          return seccompToJson(v);
        else if constexpr (std::is_same_v<T, LinuxNoNewPrivileges>)
          return v.value;
        else if constexpr (std::is_same_v<T, LinuxOomScoreAdj> || std::is_same_v<T, LinuxCpuShares>)
          return v.value;
        else if constexpr (std::is_same_v<T, LinuxSelinuxContext>) {
          Json c = Json::object();
          c["user"] = v.user;
          c["role"] = v.role;
          c["type"] = v.type;
          c["level"] = v.level;
          return c;
        } else if constexpr (std::is_same_v<T, UnixSysctl>)
          return detail::toJson(v.entries);
        else if constexpr (std::is_same_v<T, UnknownIsolator>)
          return v.value;
        else
          static_assert(kAlwaysFalse<T>, "unhandled isolator kind");
      },
      value);
  return o;
}

void Isolator::validate() const {
  // The parser holds every rule; a value built in code must survive its own serialization.
  try {
    if (!(fromJson(toJson(), "") == *this)) {
      throw Error(Errc::kInvalid, "does not round-trip");
    }
  } catch (const Error& e) {
    throw Error(Errc::kInvalid, "invalid " + name().str() + " isolator: " + e.what());
  }
}

void validateIsolatorSet(const Isolators& isolators, std::string_view path) {
  std::map<std::string, size_t, std::less<>> seen;
  for (size_t i = 0; i < isolators.size(); ++i) {
    const Isolator& iso = isolators[i];
    std::string name = iso.name().str();
    std::string namePath = json::child(json::index(path, i), "name");
    if (seen.count(name) != 0 && !multipleAllowed(iso.value)) {
      json::fail(namePath, "only one " + quote(name) + " isolator is allowed");
    }
    if (auto other = conflictOf(name); !other.empty() && seen.count(other) != 0) {
      json::fail(namePath, quote(name) + " cannot be used together with " + quote(other));
    }
    seen.emplace(std::move(name), i);
  }
}

Isolators isolatorsFromJson(const Json& j, std::string_view path) {
  json::asArray(j, path);
  Isolators out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    out.push_back(Isolator::fromJson(j[i], json::index(path, i)));
  }
  validateIsolatorSet(out, path);
  return out;
}

Json toJson(const Isolators& isolators) {
  Json out = Json::array();
  for (const auto& iso : isolators) out.push_back(iso.toJson());
  return out;
}

}  // namespace ferry::appc
