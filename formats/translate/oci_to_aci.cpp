#include "formats/translate/oci_to_aci.hpp"

#include <charconv>

#include "common/error.hpp"
#include "formats/appc/os_arch.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/naming.hpp"

namespace ferry::translate {

namespace {

bool isNumber(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t colon = line.find(':', start);
    out.push_back(line.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

template <typename Fn>
void forEachLine(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty() && line[0] != '#' && fn(splitFields(line))) return;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

std::optional<uint32_t> toU32(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Parses a JSON value kept in a label by an earlier translation; nullopt if it is damaged.
std::optional<json::Json> keptJson(const std::map<std::string, std::string>& labels,
                                   std::string_view key) {
  auto it = labels.find(std::string(key));
  if (it == labels.end()) return std::nullopt;
  try {
    return json::parse(it->second, key);
  } catch (const Error&) {
    return std::nullopt;
  }
}

struct Builder {
  const oci::ImageConfig& config;
  const UserDatabase& users;
  Report& report;
  appc::ImageManifest m;
  std::map<std::string, std::string> labels;  // the OCI labels not yet consumed

  void annotate(std::string_view key, const json::Json& value) {
    m.annotations.set(appc::AcIdentifier::parse(key), json::dump(value));
  }

  void identity(const AciIdentity& id) {
    std::optional<json::Json> keptName;
    if (auto it = labels.find(std::string(keys::kAppcName)); it != labels.end()) {
      keptName = it->second;
      labels.erase(it);
    }
    std::string name = id.name;
    if (!id.nameFromUser && keptName) name = keptName->get<std::string>();
    m.name = appc::AcIdentifier::parse(name);

    auto keptLabels = keptJson(labels, keys::kAppcLabels);
    labels.erase(std::string(keys::kAppcLabels));
    if (keptLabels) {
      try {
        m.labels = appc::Labels::fromJson(*keptLabels, keys::kAppcLabels);
      } catch (const Error& e) {
        report.dropped("config.Labels[\"" + std::string(keys::kAppcLabels) + "\"]",
                       std::string("damaged: ") + e.what());
      }
    }
    if (id.version && (id.nameFromUser || !m.labels.get("version"))) {
      m.labels.set(appc::AcIdentifier::parse("version"), *id.version);
    }
    auto osArch = appc::fromOciPlatform(config.os, config.architecture,
                                        config.variant.value_or(std::string()));
    if (!osArch) {
      throw Error(Errc::kUnsupported,
                  "not supported: OCI platform " + config.os + "/" + config.architecture +
                      (config.variant ? "/" + *config.variant : "") + " has no appc os/arch");
    }
    m.labels.set(appc::AcIdentifier::parse("os"), osArch->os);
    m.labels.set(appc::AcIdentifier::parse("arch"), osArch->arch);
    // arm without a variant, arm64/v8 and FreeBSD's arm variants map back to another variant.
    auto back = appc::toOciPlatform(osArch->os, osArch->arch);
    if (back && back->variant != config.variant.value_or(std::string())) {
      report.approximated("variant", "appc arch " + osArch->arch + " stands for OCI variant " +
                                         (back->variant.empty() ? "(none)" : back->variant));
    }
  }

  // User "u[:g]" → appc user and group, resolved against the image's own databases.
  void user(const oci::ContainerConfig& cc, appc::App& app) {
    std::string original = cc.user.value_or("");
    auto keptUser = labels.find(std::string(keys::kAppcUser));
    auto keptGroup = labels.find(std::string(keys::kAppcGroup));
    if (keptUser != labels.end() && keptGroup != labels.end() && original.empty()) {
      app.user = keptUser->second;
      app.group = keptGroup->second;
    } else {
      std::string_view u = original, g;
      if (auto colon = u.find(':'); colon != std::string_view::npos) {
        g = u.substr(colon + 1);
        u = u.substr(0, colon);
      }
      if (u.empty()) u = "0";
      app.user = std::string(u);
      if (!g.empty()) {
        app.group = std::string(g);
      } else {
        auto entry = users.passwd ? lookupUser(*users.passwd, u) : std::nullopt;
        if (entry && entry->name == u && isNumber(u) && std::to_string(entry->uid) != u) {
          // OCI runtimes read a numeric User as a uid; appc executors look the name up first.
          report.approximated("config.User", "the image has a user named " + quote(u) + " (uid " +
                                                 std::to_string(entry->uid) +
                                                 "), which appc executors run as instead of uid " +
                                                 std::string(u));
        }
        if (entry) {
          app.group = std::to_string(entry->gid);
        } else {
          app.group = "0";
          if (!isNumber(u)) {
            report.approximated("config.User",
                                "user " + quote(u) + " is not in the image's /etc/passwd; group 0");
          }
        }
      }
      std::string as = app.user + ":" + app.group;
      if (!cc.user || as != original) {
        // Without "user", the config had no User (which is not the same document as "0:0").
        json::Json kept = json::Json::object();
        if (cc.user) kept["user"] = original;
        kept["as"] = as;
        annotate(keys::kOciUser, kept);
      }
    }
    if (keptUser != labels.end()) labels.erase(keptUser);
    if (keptGroup != labels.end()) labels.erase(std::string(keys::kAppcGroup));
  }

  void restoreAppField(appc::App& app, std::string_view key, std::string_view label) {
    auto kept = keptJson(labels, label);
    labels.erase(std::string(label));
    if (!kept) return;
    try {
      json::Json j = app.toJson();
      j[std::string(key)] = *kept;
      app = appc::App::fromJson(j, "app");
    } catch (const Error& e) {
      report.dropped("config.Labels[\"" + std::string(label) + "\"]",
                     std::string("damaged: ") + e.what());
    }
  }

  void volumes(const oci::ContainerConfig& cc, appc::App& app) {
    std::vector<appc::MountPoint> kept;
    if (auto j = keptJson(labels, keys::kAppcMountPoints)) {
      try {
        for (size_t i = 0; i < j->size(); ++i) {
          kept.push_back(
              appc::MountPoint::fromJson((*j)[i], json::index(keys::kAppcMountPoints, i)));
        }
      } catch (const Error&) {
        kept.clear();
      }
    }
    labels.erase(std::string(keys::kAppcMountPoints));
    if (!cc.volumes) return;
    std::set<std::string> taken;
    for (const auto& mp : kept) {
      if (cc.volumes->count(mp.path) != 0) {
        app.mountPoints.push_back(mp);
        taken.insert(mp.name.str());
      }
    }
    for (const auto& path : *cc.volumes) {
      bool have = false;
      for (const auto& mp : app.mountPoints) have = have || mp.path == path;
      if (have) continue;
      std::string name = volumeName(path, taken);
      taken.insert(name);
      app.mountPoints.push_back({appc::AcName::parse(name), path, std::nullopt});
    }
  }

  void ports(const oci::ContainerConfig& cc, appc::App& app) {
    std::optional<std::vector<appc::Port>> kept;
    if (auto j = keptJson(labels, keys::kAppcPorts)) {
      try {
        std::vector<appc::Port> ps;
        for (size_t i = 0; i < j->size(); ++i) {
          ps.push_back(appc::Port::fromJson((*j)[i], json::index(keys::kAppcPorts, i)));
        }
        kept = std::move(ps);
      } catch (const Error&) {
      }
    }
    labels.erase(std::string(keys::kAppcPorts));
    std::set<std::string> exposed = cc.exposedPorts.value_or(std::set<std::string>{});
    if (kept) {
      // Use the kept ports only if the exposed set is still exactly what they expand to.
      std::set<std::string> expanded;
      for (const auto& p : *kept) {
        for (uint32_t k = 0; k < p.count.value_or(1) && p.port + k <= 65535; ++k) {
          if (p.protocol == "tcp" || p.protocol == "udp" || p.protocol == "sctp") {
            expanded.insert(std::to_string(p.port + k) + "/" + p.protocol);
          }
        }
      }
      if (expanded == exposed) {
        app.ports = *kept;
        return;
      }
    }
    std::set<std::string> taken;
    for (const auto& spec : exposed) {
      std::string field = "config.ExposedPorts[\"" + spec + "\"]";
      std::string_view s = spec;
      std::string proto = "tcp";
      auto slash = s.find('/');
      if (slash != std::string_view::npos) {
        proto = std::string(s.substr(slash + 1));
        s = s.substr(0, slash);
      }
      auto port = toU32(s);
      if (!port || *port < 1 || *port > 65535 || !appc::AcName::isValid(proto)) {
        report.dropped(field, "not a port/protocol appc can hold");
        continue;
      }
      std::string name = portName(proto, *port);
      // "80" and "80/tcp" are one port; appc port names must be unique.
      if (!taken.insert(name).second) {
        report.dropped(field, "the same port as another entry; listed once as " + quote(name));
        continue;
      }
      if (slash == std::string_view::npos) {
        report.approximated(field, "no protocol; tcp assumed, as OCI specifies");
      }
      app.ports.push_back({appc::AcName::parse(name), proto, static_cast<uint16_t>(*port),
                           std::nullopt, std::nullopt});
    }
  }

  void environment(const oci::ContainerConfig& cc, appc::App& app) {
    if (!cc.env) return;
    json::Json odd = json::Json::array();
    for (size_t i = 0; i < cc.env->size(); ++i) {
      const std::string& e = (*cc.env)[i];
      auto eq = e.find('=');
      std::string name = e.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : e.substr(eq + 1);
      if (eq != std::string::npos && app.environment.get(name)) {
        odd.push_back(e);
        report.approximated(json::index("config.Env", i),
                            "a second " + name +
                                "; appc holds one value per name and keeps the "
                                "first, where Docker and containerd let the last one win; kept in "
                                "annotation " +
                                std::string(keys::kOciEnv));
        continue;
      }
      if (eq == std::string::npos || !appc::isValidEnvironmentName(name)) {
        odd.push_back(e);
        report.annotated(json::index("config.Env", i),
                         "not a valid appc environment variable; kept in annotation " +
                             std::string(keys::kOciEnv));
        continue;
      }
      app.environment.add(name, value);
    }
    if (!odd.empty()) annotate(keys::kOciEnv, odd);
  }

  void app(const oci::ContainerConfig& cc) {
    std::vector<std::string> exec;
    if (cc.entrypoint) exec = *cc.entrypoint;
    if (cc.cmd) {
      exec.insert(exec.end(), cc.cmd->begin(), cc.cmd->end());
      annotate(keys::kOciCmd, *cc.cmd);
    }
    if (exec.empty()) {
      report.approximated("config", "the image has no Entrypoint or Cmd; the ACI has no app");
      return;
    }
    appc::App app;
    app.exec = std::move(exec);
    user(cc, app);
    if (cc.workingDir && !cc.workingDir->empty()) {
      if ((*cc.workingDir)[0] != '/') {
        app.workingDirectory = "/" + *cc.workingDir;
        report.approximated("config.WorkingDir", "relative; taken from the root");
      } else {
        app.workingDirectory = *cc.workingDir;
      }
    }
    environment(cc, app);
    restoreAppField(app, "supplementaryGIDs", keys::kAppcSupplementaryGids);
    restoreAppField(app, "eventHandlers", keys::kAppcEventHandlers);
    restoreAppField(app, "isolators", keys::kAppcIsolators);
    restoreAppField(app, "userAnnotations", keys::kAppcUserAnnotations);
    restoreAppField(app, "userLabels", keys::kAppcUserLabels);
    volumes(cc, app);
    ports(cc, app);
    m.app = std::move(app);
  }

  // Fields of the container config that appc has no place for, kept as one JSON object.
  void leftoverConfig(const oci::ContainerConfig& cc) {
    json::Json j = cc.toJson();
    j.erase("Labels");
    // Without an app, nothing took the execution fields: keep them all.
    if (m.app) {
      for (const char* mapped : {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes"}) {
        j.erase(mapped);
      }
      // An empty WorkingDir became no workingDirectory; keep it so that it is written back.
      if (!cc.workingDir || !cc.workingDir->empty()) j.erase("WorkingDir");
    }
    if (j.empty()) return;
    for (auto it = j.begin(); it != j.end(); ++it) {
      report.annotated("config." + it.key(), "appc has no such field; kept in annotation " +
                                                 std::string(keys::kOciConfig));
    }
    annotate(keys::kOciConfig, j);
  }

  void leftoverImage() {
    json::Json j = config.toJson();
    for (const char* mapped :
         {"created", "author", "architecture", "os", "variant", "config", "rootfs", "history"}) {
      j.erase(mapped);
    }
    if (!j.empty()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        report.annotated(
            it.key(), "appc has no such field; kept in annotation " + std::string(keys::kOciImage));
      }
      annotate(keys::kOciImage, j);
    }
    bool ours = true;  // a history ferry wrote itself describes nothing worth keeping
    for (const auto& h : config.history) {
      ours = ours && h.createdBy && h.createdBy->rfind("ferry image convert", 0) == 0;
    }
    if (!ours) {
      report.dropped("history",
                     "the layers are flattened into one rootfs, so their history no "
                     "longer describes the image");
    }
  }

  void annotations() {
    // The appc spec lists "authors" before "created"; so do we.
    if (config.author) m.annotations.set(appc::AcIdentifier::parse(keys::kAuthors), *config.author);
    if (config.created) {
      m.annotations.set(appc::AcIdentifier::parse(keys::kCreated), *config.created);
    }
    json::Json odd = json::Json::object();
    for (const auto& [k, v] : labels) {
      if (k.rfind(keys::kAppcPrefix, 0) == 0) {
        report.dropped("config.Labels[\"" + k + "\"]", "unknown ferry label");
        continue;
      }
      // A "created" label is the annotation unless config.created is there or aciToOci would
      // read it as one; "authors" always would become the author.
      bool createdLabel = k == keys::kCreated && !config.created && !looksLikeRfc3339(v);
      if (appc::AcIdentifier::isValid(k) && (k != keys::kCreated || createdLabel) &&
          k != keys::kAuthors && k.rfind(keys::kOciPrefix, 0) != 0) {
        m.annotations.set(appc::AcIdentifier::parse(k), v);
      } else {
        odd[k] = v;
        report.annotated("config.Labels[\"" + k + "\"]",
                         "not a valid appc annotation name; kept in annotation " +
                             std::string(keys::kOciLabels));
      }
    }
    if (!odd.empty()) annotate(keys::kOciLabels, odd);
  }
};

}  // namespace

std::optional<PasswdEntry> lookupUser(std::string_view passwd, std::string_view nameOrUid) {
  std::optional<PasswdEntry> found;
  bool numeric = isNumber(nameOrUid);
  forEachLine(passwd, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 4) return false;
    bool match = f[0] == nameOrUid || (numeric && f[2] == nameOrUid);
    auto uid = toU32(f[2]);
    auto gid = toU32(f[3]);
    if (!match || !uid || !gid) return false;
    // As the appc spec resolves user: a name match wins over a uid match; among uid matches (root
    // and toor share uid 0) the first, as getpwuid() does.
    if (f[0] == nameOrUid) {
      found = PasswdEntry{std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""};
      return true;
    }
    if (!found) {
      found = PasswdEntry{std::string(f[0]), *uid, *gid, f.size() > 5 ? std::string(f[5]) : ""};
    }
    return false;
  });
  return found;
}

std::optional<uint32_t> lookupGroup(std::string_view group, std::string_view name) {
  std::optional<uint32_t> found;
  forEachLine(group, [&](const std::vector<std::string_view>& f) {
    if (f.size() >= 3 && f[0] == name) {
      found = toU32(f[2]);
      return true;
    }
    return false;
  });
  return found;
}

appc::ImageManifest ociToAci(const oci::ImageConfig& config, const AciIdentity& identity,
                             const UserDatabase& users, Report& report) {
  Builder b{config, users, report, {.name = appc::AcIdentifier::parse("unnamed")}, {}};
  if (config.config && config.config->labels) b.labels = *config.config->labels;
  b.identity(identity);
  if (config.config) {
    b.app(*config.config);
    b.leftoverConfig(*config.config);
  } else {
    report.approximated("config", "the image has no execution config; the ACI has no app");
  }
  b.leftoverImage();
  b.annotations();
  return std::move(b.m);
}

}  // namespace ferry::translate
