#include "formats/translate/app_runtime.hpp"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/signals.hpp"
#include "formats/translate/ulimit.hpp"

namespace ferry::translate {

namespace {

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool allDigits(std::string_view s) {
  return !s.empty() && s.size() <= 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

uint32_t toId(std::string_view s) { return static_cast<uint32_t>(std::stoull(std::string(s))); }

// An ordered environment where a later value replaces an earlier one in place.
class Env {
 public:
  void set(const std::string& name, const std::string& value) {
    for (auto& [n, v] : items_) {
      if (n == name) {
        v = value;
        return;
      }
    }
    items_.emplace_back(name, value);
  }
  std::vector<std::string> list() const {
    std::vector<std::string> out;
    for (const auto& [n, v] : items_) out.push_back(n + "=" + v);
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

oci::Mount mount(std::string dest, std::string type, std::string source,
                 std::vector<std::string> options) {
  oci::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

oci::LinuxDevice device(std::string path, int64_t major, int64_t minor) {
  oci::LinuxDevice d;
  d.type = "c";
  d.path = std::move(path);
  d.major = major;
  d.minor = minor;
  d.fileMode = 0666;
  d.uid = 0;
  d.gid = 0;
  return d;
}

// Capabilities after the retain/remove isolators, in the order the sets name them.
std::vector<std::string> capabilities(const appc::Isolators& isolators, const std::string& path) {
  std::vector<std::string> retained;
  std::vector<std::string> removed;
  bool retain = false;
  for (size_t i = 0; i < isolators.size(); ++i) {
    const auto& v = isolators[i].value;
    const std::vector<std::string>* set = nullptr;
    if (const auto* r = std::get_if<appc::LinuxCapabilitiesRetainSet>(&v)) {
      retain = true;
      set = &r->set;
      for (const auto& c : r->set) {
        if (std::find(retained.begin(), retained.end(), c) == retained.end()) retained.push_back(c);
      }
    } else if (const auto* r = std::get_if<appc::LinuxCapabilitiesRemoveSet>(&v)) {
      set = &r->set;
      removed.insert(removed.end(), r->set.begin(), r->set.end());
    }
    if (set == nullptr) continue;
    for (const auto& c : *set) {
      if (!oci::isCapability(c)) {
        throw Error(Errc::kInvalid, json::index(path, i) + ": unknown capability " + quote(c));
      }
    }
  }
  std::vector<std::string> out = retain ? retained : appcDefaultCapabilities();
  std::erase_if(out, [&](const std::string& c) {
    return std::find(removed.begin(), removed.end(), c) != removed.end();
  });
  return out;
}

// Expands the appc seccomp wildcards ferry knows; reports the others.
std::vector<std::string> expandSyscalls(const std::vector<std::string>& set,
                                        const std::vector<std::string>& caps,
                                        const std::string& path, Report& report, bool* all) {
  std::vector<std::string> out;
  for (size_t i = 0; i < set.size(); ++i) {
    const std::string& s = set[i];
    if (s.empty() || s[0] != '@') {
      out.push_back(s);
    } else if (s == "@appc.io/all") {
      *all = true;
    } else if (s == "@appc.io/empty") {
      // nothing
    } else if (s == "@rkt/default-blacklist" || s == "@docker/default-blacklist") {
      auto d = defaultSeccompRemoveSet(caps);
      out.insert(out.end(), d.begin(), d.end());
      report.approximated(json::index(path + ".set", i),
                          "ferry's default remove set stands in for " + quote(s));
    } else {
      report.dropped(json::index(path + ".set", i),
                     "unknown seccomp wildcard " + quote(s) + "; not applied");
    }
  }
  return out;
}

// The default filter's refusals (by name, by argument, the terminal ioctls) for `caps`.
void addDefaultRefusals(oci::Seccomp& sc, const std::vector<std::string>& caps) {
  sc.syscalls.push_back(
      {defaultSeccompRemoveSet(caps), "SCMP_ACT_ERRNO", errnoNumber("EPERM"), {}});
  for (auto& rule : defaultSeccompArgumentRules(caps)) sc.syscalls.push_back(std::move(rule));
  sc.syscalls.push_back(defaultSeccompIoctlRule());
}

oci::Seccomp seccomp(const appc::Isolators& isolators, const std::vector<std::string>& caps,
                     const std::vector<std::string>& arches, const std::string& path,
                     Report& report) {
  oci::Seccomp sc;
  sc.architectures = arches;
  for (size_t i = 0; i < isolators.size(); ++i) {
    const auto& v = isolators[i].value;
    const appc::LinuxSeccompSet* set = nullptr;
    bool retain = false;
    if (const auto* r = std::get_if<appc::LinuxSeccompRetainSet>(&v)) {
      set = r;
      retain = true;
    } else if (const auto* r = std::get_if<appc::LinuxSeccompRemoveSet>(&v)) {
      set = r;
    }
    if (set == nullptr) continue;
    std::string ipath = json::index(path, i) + ".value";
    // appc: an absent or empty errno kills the app with SIGSYS.
    std::string block = "SCMP_ACT_KILL";
    std::optional<uint32_t> errnoRet;
    if (set->errnoName && !set->errnoName->empty()) {
      errnoRet = errnoNumber(*set->errnoName);
      if (!errnoRet) {
        throw Error(Errc::kInvalid, ipath + ".errno: unknown errno " + quote(*set->errnoName));
      }
      block = "SCMP_ACT_ERRNO";
    }
    bool all = false;
    std::vector<std::string> names = expandSyscalls(set->set, caps, ipath, report, &all);
    if (retain) {
      if (all) {
        sc.defaultAction = "SCMP_ACT_ALLOW";
        return sc;
      }
      sc.defaultAction = block;
      sc.defaultErrnoRet = errnoRet;
      // stage2 installs the filter just before execve(2): the app could not start without it.
      if (std::find(names.begin(), names.end(), "execve") == names.end()) {
        names.push_back("execve");
      }
      sc.syscalls.push_back({names, "SCMP_ACT_ALLOW", std::nullopt, {}});
    } else {
      sc.defaultAction = "SCMP_ACT_ALLOW";
      if (all) {
        report.approximated(ipath + ".set", "@appc.io/all in a remove set: execve stays allowed");
        sc.defaultAction = block;
        sc.defaultErrnoRet = errnoRet;
        sc.syscalls.push_back({{"execve"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
      } else {
        // A remove set refuses more, never less: the default filter's refusals stay under it
        // (else `remove mkdir` would have re-allowed keyctl, unshare, clone(CLONE_NEWUSER), …).
        addDefaultRefusals(sc, caps);
        if (!names.empty()) sc.syscalls.push_back({names, block, errnoRet, {}});
      }
    }
    return sc;
  }
  sc.defaultAction = "SCMP_ACT_ALLOW";
  addDefaultRefusals(sc, caps);
  return sc;
}

std::string joinArgv(const std::vector<std::string>& argv) {
  json::Json a = json::Json::array();
  for (const auto& s : argv) a.push_back(s);
  return json::dump(a);
}

const appc::Volume* findVolume(const AppRuntimeInput& in, const appc::Mount& m) {
  if (m.appVolume) return &*m.appVolume;
  for (const auto& v : in.volumes) {
    if (v.name == m.volume) return &v;
  }
  return nullptr;
}

}  // namespace

std::optional<oci::LinuxResources> resourcesFromIsolators(const appc::Isolators& isolators,
                                                          std::string_view path, Report& report) {
  oci::LinuxResources r;
  bool any = false;
  for (size_t i = 0; i < isolators.size(); ++i) {
    std::string ipath = json::index(path, i);
    const auto& v = isolators[i].value;
    if (const auto* m = std::get_if<appc::ResourceMemory>(&v)) {
      if (!r.memory) r.memory = oci::LinuxMemory{};
      if (m->limit) r.memory->limit = m->limit->value();
      if (m->request) r.memory->reservation = m->request->value();
      any = true;
    } else if (const auto* c = std::get_if<appc::ResourceCpu>(&v)) {
      if (!r.cpu) r.cpu = oci::LinuxCpu{};
      if (c->limit) {
        auto milli = c->limit->milliValue();
        if (!milli || *milli <= 0) {
          throw Error(Errc::kInvalid, ipath + ".value.limit: not a usable cpu limit");
        }
        r.cpu->period = 100000;
        r.cpu->quota = std::max<int64_t>(*milli * 100, 1000);  // 100 ms period, ≥ 1 ms
      }
      if (c->request) {
        auto milli = c->request->milliValue();
        if (milli && *milli > 0) {
          r.cpu->shares = static_cast<uint64_t>(std::max<int64_t>(*milli * 1024 / 1000, 2));
          report.approximated(ipath + ".value.request",
                              "the cpu request becomes cpu shares (1 core = 1024)");
        }
      }
      any = true;
    } else if (const auto* s = std::get_if<appc::LinuxCpuShares>(&v)) {
      if (!r.cpu) r.cpu = oci::LinuxCpu{};
      r.cpu->shares = static_cast<uint64_t>(s->value);
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return r;
}

oci::RuntimeSpec appToRuntime(const AppRuntimeInput& in, Report& report) {
  const appc::RuntimeApp& ra = in.app;
  const std::string appName = ra.name.str();
  if (!ra.app) throw Error(Errc::kInvalid, "app " + quote(appName) + " has no app section");
  const appc::App& app = *ra.app;
  if (app.exec.empty()) {
    throw Error(Errc::kInvalid,
                "app " + quote(appName) + ": nothing to execute (app.exec is empty)");
  }
  oci::RuntimeSpec spec;
  spec.root = oci::Root{"rootfs", ra.readOnlyRootFS.value_or(false)};
  spec.annotations[std::string(runtime_keys::kAppName)] = appName;
  // The app's userAnnotations are its OCI annotations, but never in ferry's own namespace: an
  // image could otherwise name its user or add an event handler behind the pod manifest's back.
  for (const auto& [n, v] : app.userAnnotations) {
    if (n.starts_with(kReservedAnnotationPrefix)) {
      throw Error(Errc::kInvalid, "app " + quote(appName) + ": app.userAnnotations[" + n +
                                      "]: the prefix " + std::string(kReservedAnnotationPrefix) +
                                      " is ferry's own");
    }
    spec.annotations[n] = v;
  }

  // --- process
  oci::Process p;
  p.args = app.exec;
  if (in.interactive) p.terminal = true;
  Env env;
  env.set("PATH", std::string(kDefaultPath));
  for (const auto& [n, v] : in.inheritedEnvironment) env.set(n, v);
  env.set("AC_APP_NAME", appName);
  if (in.metadataUrl) env.set("AC_METADATA_URL", *in.metadataUrl);
  env.set("container", "ferry");
  for (const auto& e : app.environment) env.set(e.name, e.value);
  if (auto extra = ra.annotations.get(runtime_keys::kExtraEnvironment)) {
    std::string what = "app " + quote(appName) + ": annotations[" +
                       std::string(runtime_keys::kExtraEnvironment) + "]";
    json::Json j = json::parse(*extra, what);
    if (!j.is_array()) throw Error(Errc::kInvalid, what + ": not an array");
    for (const auto& e : j) {
      std::string entry = e.is_string() ? e.get<std::string>() : std::string();
      auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw Error(Errc::kInvalid, what + ": want \"NAME=VALUE\" strings, not " + e.dump());
      }
      env.set(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  for (const auto& [n, v] : in.podEnvironment) env.set(n, v);
  p.env = env.list();
  p.cwd = app.workingDirectory.value_or("/");
  if (p.cwd.empty() || p.cwd[0] != '/') {
    throw Error(Errc::kInvalid, "app " + quote(appName) + ": app.workingDirectory " + quote(p.cwd) +
                                    " is not absolute");
  }
  if (allDigits(app.user)) {
    p.user.uid = toId(app.user);
  } else if (app.user.empty()) {
    throw Error(Errc::kInvalid, "app " + quote(appName) + ": app.user is required");
  } else {
    spec.annotations[std::string(runtime_keys::kUser)] = app.user;
  }
  if (allDigits(app.group)) {
    p.user.gid = toId(app.group);
  } else if (app.group.empty()) {
    throw Error(Errc::kInvalid, "app " + quote(appName) + ": app.group is required");
  } else {
    spec.annotations[std::string(runtime_keys::kGroup)] = app.group;
  }
  p.user.additionalGids = app.supplementaryGIDs;
  p.rlimits = rlimitsFromAnnotations(ra.annotations, "annotations");
  for (const auto& h : app.eventHandlers) {
    std::string_view key =
        h.name == appc::kPreStart ? runtime_keys::kPreStart : runtime_keys::kPostStop;
    spec.annotations[std::string(key)] = joinArgv(h.exec);
  }
  if (auto sig = ra.annotations.get(runtime_keys::kStopSignal)) {
    auto n = parseSignal(*sig);
    if (!n) {
      throw Error(Errc::kInvalid, "app " + quote(appName) + ": annotations[" +
                                      std::string(runtime_keys::kStopSignal) +
                                      "]: not a signal: " + quote(*sig));
    }
    spec.annotations[std::string(runtime_keys::kStopSignal)] = signalName(*n);
  }

  const std::string isoPath = "app.isolators";
  std::vector<std::string> caps = capabilities(app.isolators, isoPath);
  if (in.insecure.capabilities) caps = in.allCapabilities;
  oci::Capabilities c;
  c.bounding = caps;
  c.effective = caps;
  c.permitted = caps;
  c.inheritable = std::vector<std::string>{};
  c.ambient = std::vector<std::string>{};
  p.capabilities = c;

  oci::Linux linux;
  for (size_t i = 0; i < app.isolators.size(); ++i) {
    std::string ipath = json::index(isoPath, i);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, appc::LinuxNoNewPrivileges>) {
            p.noNewPrivileges = v.value;
          } else if constexpr (std::is_same_v<T, appc::LinuxOomScoreAdj>) {
            p.oomScoreAdj = v.value;
          } else if constexpr (std::is_same_v<T, appc::UnixSysctl>) {
            for (const auto& [k, val] : v.entries) linux.sysctl[k] = val;
          } else if constexpr (std::is_same_v<T, appc::ResourceBlockBandwidth> ||
                               std::is_same_v<T, appc::ResourceBlockIops> ||
                               std::is_same_v<T, appc::ResourceNetworkBandwidth>) {
            report.dropped(ipath, "isolator " + quote(app.isolators[i].name().str()) +
                                      " is not supported by ferry; not applied");
          } else if constexpr (std::is_same_v<T, appc::LinuxSelinuxContext>) {
            report.dropped(ipath, "SELinux contexts are not supported by ferry; not applied");
          } else if constexpr (std::is_same_v<T, appc::UnknownIsolator>) {
            report.dropped(ipath, "unknown isolator " + quote(v.name.str()) + "; not applied");
          }
        },
        app.isolators[i].value);
  }
  // rkt's forceNoNewPrivileges: a non-root app gains nothing through a setuid binary or file
  // capabilities, whatever its isolator says (unless the operator switched it off).
  if (in.noNewPrivs == NoNewPrivs::kAll ||
      (in.noNewPrivs == NoNewPrivs::kNonRoot && !isRootUser(app.user))) {
    p.noNewPrivileges = true;
  }
  checkSysctls(linux.sysctl, in.hostNetwork, appName, in.hostIpc);
  spec.process = std::move(p);

  // --- mounts (appc Linux OS spec, then volumes)
  spec.mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  spec.mounts.push_back(
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  spec.mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  spec.mounts.push_back(
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  spec.mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  spec.mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  // The app's own cgroups, read-only (ferry-stage2 makes them as runc does with a cgroup
  // namespace): JVMs and Go programs size themselves by the limits they find there.
  spec.mounts.push_back(
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  if (in.hostsFile) {
    spec.mounts.push_back(mount("/etc/hosts", "bind", *in.hostsFile, {"bind", "ro"}));
  }
  if (in.resolvConf) {
    spec.mounts.push_back(mount("/etc/resolv.conf", "bind", *in.resolvConf, {"bind", "ro"}));
  }
  std::vector<oci::Mount> volumeMounts;
  for (size_t i = 0; i < ra.mounts.size(); ++i) {
    const appc::Mount& m = ra.mounts[i];
    std::string mpath = json::index("mounts", i);
    const appc::Volume* vol = findVolume(in, m);
    if (vol == nullptr) {
      throw Error(Errc::kInvalid, mpath + ": no volume " + quote(m.volume.str()) + " in the pod");
    }
    auto src = in.volumeSources.find(vol->name.str());
    if (src == in.volumeSources.end() || src->second.empty() || src->second[0] != '/') {
      throw Error(Errc::kInvalid,
                  mpath + ": volume " + quote(vol->name.str()) + " has no absolute host path");
    }
    if (m.path.empty() || m.path[0] != '/') {
      throw Error(Errc::kInvalid, mpath + ".path: " + quote(m.path) + " is not absolute");
    }
    bool ro = vol->readOnly.value_or(false);
    for (const auto& mp : app.mountPoints) {
      if ((mp.name == m.volume || mp.path == m.path) && mp.readOnly.value_or(false)) ro = true;
    }
    bool recursive = vol->recursive.value_or(true);
    std::vector<std::string> opts = {recursive ? "rbind" : "bind"};
    if (ro) opts.push_back("ro");
    volumeMounts.push_back(mount(m.path, "bind", src->second, opts));
  }
  // A parent before what is mounted below it (an explicit --mount on /data/sub comes before the
  // image's mount point /data in the pod manifest): by depth, else in manifest order (Docker's
  // rule).
  auto depth = [](const std::string& p) { return pathComponents(p).size(); };
  std::stable_sort(volumeMounts.begin(), volumeMounts.end(),
                   [&](const oci::Mount& a, const oci::Mount& b) {
                     return depth(a.destination) < depth(b.destination);
                   });
  spec.mounts.insert(spec.mounts.end(), volumeMounts.begin(), volumeMounts.end());

  // --- linux
  linux.devices = {device("/dev/null", 1, 3),    device("/dev/zero", 1, 5),
                   device("/dev/full", 1, 7),    device("/dev/random", 1, 8),
                   device("/dev/urandom", 1, 9), device("/dev/tty", 5, 0)};
  linux.resources = resourcesFromIsolators(app.isolators, isoPath, report);
  if (auto pids = pidsLimitFromAnnotations(ra.annotations, "annotations")) {
    if (!linux.resources) linux.resources = oci::LinuxResources{};
    linux.resources->pids = oci::LinuxPids{*pids};
  }
  if (!in.insecure.seccomp) {
    linux.seccomp = seccomp(app.isolators, caps, in.seccompArchitectures, isoPath, report);
  }
  linux.namespaces.push_back({"pid", std::nullopt});
  if (!in.hostNetwork) linux.namespaces.push_back({"network", std::nullopt});
  if (!in.hostIpc) linux.namespaces.push_back({"ipc", std::nullopt});
  linux.namespaces.push_back({"uts", std::nullopt});
  linux.namespaces.push_back({"mount", std::nullopt});
  if (!in.insecure.paths) {
    linux.maskedPaths = defaultMaskedPaths();
    linux.readonlyPaths = defaultReadonlyPaths();
  }
  spec.linuxConfig = std::move(linux);
  return spec;
}

}  // namespace ferry::translate
