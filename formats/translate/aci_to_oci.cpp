#include "formats/translate/aci_to_oci.hpp"

#include "common/error.hpp"
#include "formats/appc/os_arch.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/naming.hpp"

namespace ferry::translate {

namespace {

using LabelMap = std::map<std::string, std::string>;

bool isOciPortProtocol(std::string_view p) { return p == "tcp" || p == "udp" || p == "sctp"; }

void setPlatform(const appc::ImageManifest& m, oci::ImageConfig& config, Report& report) {
  auto os = m.labels.get("os");
  auto arch = m.labels.get("arch");
  if (!os) {
    // OCI requires both; an appc image without os is meant to run anywhere.
    config.os = "linux";
    config.architecture = "amd64";
    report.approximated("labels",
                        "the image names no os/arch label; the OCI platform is set to "
                        "linux/amd64, which OCI requires");
    return;
  }
  std::string a = arch ? std::string(*arch) : std::string();
  if (a.empty()) {
    config.os = std::string(*os);
    config.architecture = "amd64";
    report.approximated("labels",
                        "the image names no arch label; the OCI architecture is set to "
                        "amd64, which OCI requires");
    return;
  }
  auto platform = appc::toOciPlatform(*os, a);
  if (!platform) {
    throw Error(Errc::kUnsupported,
                "not supported: os/arch " + std::string(*os) + "/" + a + " has no OCI platform");
  }
  config.os = platform->os;
  config.architecture = platform->architecture;
  if (!platform->variant.empty()) config.variant = platform->variant;
}

void mapApp(const appc::App& app, oci::ContainerConfig& cc, LabelMap& labels, Report& report) {
  json::Json appJson = app.toJson();
  auto keep = [&](std::string_view key, std::string_view label, std::string_view why) {
    auto it = appJson.find(key);
    if (it == appJson.end()) return;
    labels[std::string(label)] = json::dump(*it);
    report.annotated(json::child("app", key),
                     std::string(why) + "; kept in label " + std::string(label));
  };

  if (!app.exec.empty()) cc.entrypoint = app.exec;

  if (!app.user.empty() && app.user[0] != '/' && !app.group.empty() && app.group[0] != '/') {
    cc.user = app.user + ":" + app.group;
  } else {
    labels[std::string(keys::kAppcUser)] = app.user;
    labels[std::string(keys::kAppcGroup)] = app.group;
    report.approximated("app.user",
                        "a user or group given as a file's owner (" + app.user + ":" + app.group +
                            ") has no OCI form; OCI runtimes run as root; "
                            "kept in labels " +
                            std::string(keys::kAppcUser) + " and " + std::string(keys::kAppcGroup));
  }
  keep("supplementaryGIDs", keys::kAppcSupplementaryGids,
       "OCI images cannot name supplementary groups");
  if (!app.eventHandlers.empty()) {
    keep("eventHandlers", keys::kAppcEventHandlers,
         "OCI runtimes run no pre-start/post-stop handlers");
  }
  if (app.workingDirectory) cc.workingDir = *app.workingDirectory;
  if (!app.environment.empty()) {
    std::vector<std::string> env;
    for (const auto& e : app.environment) env.push_back(e.name + "=" + e.value);
    cc.env = std::move(env);
  }
  if (!app.isolators.empty()) {
    json::Json iso = appJson.at("isolators");
    labels[std::string(keys::kAppcIsolators)] = json::dump(iso);
    for (size_t i = 0; i < iso.size(); ++i) {
      report.annotated(json::index("app.isolators", i),
                       "isolator " + iso[i].value("name", std::string()) +
                           " has no OCI image field; kept in label " +
                           std::string(keys::kAppcIsolators));
    }
  }
  if (!app.mountPoints.empty()) {
    std::set<std::string> volumes;
    for (const auto& mp : app.mountPoints) volumes.insert(mp.path);
    // Names ferry derived itself (OCI → ACI) need not be kept, but only if ociToAci derives the
    // very same list again: it walks the volumes in sorted order, so the order and the -2
    // suffixes must agree too (otherwise /a/b and /a-b swap names).
    std::vector<appc::MountPoint> derived;
    std::set<std::string> taken;
    for (const auto& path : volumes) {
      std::string name = volumeName(path, taken);
      taken.insert(name);
      derived.push_back({appc::AcName::parse(name), path, std::nullopt});
    }
    cc.volumes = std::move(volumes);
    if (derived != app.mountPoints) {
      keep("mountPoints", keys::kAppcMountPoints, "OCI volumes have no names and no readOnly flag");
    }
  }
  if (!app.ports.empty()) {
    std::set<std::string> exposed;
    for (size_t i = 0; i < app.ports.size(); ++i) {
      const auto& p = app.ports[i];
      if (!isOciPortProtocol(p.protocol)) {
        report.dropped(json::index("app.ports", i) + ".protocol",
                       "OCI exposes only tcp, udp and sctp ports, not " + quote(p.protocol));
        continue;
      }
      uint32_t count = p.count.value_or(1);
      for (uint32_t k = 0; k < count && p.port + k <= 65535; ++k) {
        exposed.insert(std::to_string(p.port + k) + "/" + p.protocol);
      }
    }
    // As for volumes: keep the ports unless ociToAci derives exactly this list from ExposedPorts
    // (sorted "port/protocol" strings, one port each, no socketActivated).
    std::vector<appc::Port> derived;
    for (const auto& spec : exposed) {
      auto slash = spec.find('/');
      std::string proto = spec.substr(slash + 1);
      auto port = static_cast<uint16_t>(std::stoul(spec.substr(0, slash)));
      derived.push_back(
          {appc::AcName::parse(portName(proto, port)), proto, port, std::nullopt, std::nullopt});
    }
    if (!exposed.empty()) cc.exposedPorts = std::move(exposed);
    if (derived != app.ports) {
      keep("ports", keys::kAppcPorts, "OCI exposed ports have no names or socket activation");
    }
  }
  keep("userAnnotations", keys::kAppcUserAnnotations, "OCI images have no user annotations");
  keep("userLabels", keys::kAppcUserLabels, "OCI images have no user labels");
}

// Puts back what an OCI → ACI translation kept in dev.ferry.oci.* annotations.
void restoreOci(const std::map<std::string, json::Json>& kept, oci::ImageConfig& config,
                Report& report) {
  oci::ContainerConfig& cc = *config.config;
  auto get = [&](std::string_view key) -> const json::Json* {
    auto it = kept.find(std::string(key));
    return it == kept.end() ? nullptr : &it->second;
  };
  auto annotationPath = [](std::string_view key) {
    return "annotations[\"" + std::string(key) + "\"]";
  };
  try {
    if (const json::Json* cmd = get(keys::kOciCmd); cmd && cmd->is_array() && cc.entrypoint) {
      auto tail = cmd->get<std::vector<std::string>>();
      auto& exec = *cc.entrypoint;
      if (tail.size() <= exec.size() &&
          std::equal(tail.begin(), tail.end(), exec.end() - static_cast<long>(tail.size()))) {
        exec.resize(exec.size() - tail.size());
        cc.cmd = std::move(tail);
        if (exec.empty()) cc.entrypoint.reset();
      }
    }
    if (const json::Json* user = get(keys::kOciUser); user && user->is_object()) {
      if (cc.user && *cc.user == user->value("as", std::string())) {
        // No "user": the OCI config had no User at all.
        if (user->contains("user")) {
          cc.user = user->at("user").get<std::string>();
        } else {
          cc.user.reset();
        }
      }
    }
    if (const json::Json* env = get(keys::kOciEnv); env && env->is_array()) {
      if (!cc.env) cc.env.emplace();
      for (const auto& e : *env) cc.env->push_back(e.get<std::string>());
    }
    if (const json::Json* labels = get(keys::kOciLabels); labels && labels->is_object()) {
      for (auto it = labels->begin(); it != labels->end(); ++it) {
        (*cc.labels)[it.key()] = it.value().get<std::string>();
      }
    }
    if (const json::Json* rest = get(keys::kOciConfig); rest && rest->is_object()) {
      json::Json j = cc.toJson();
      j.update(*rest);
      cc = oci::ContainerConfig::fromJson(j, annotationPath(keys::kOciConfig));
    }
    if (const json::Json* rest = get(keys::kOciImage); rest && rest->is_object()) {
      json::Json j = config.toJson();
      j.update(*rest);
      config = oci::ImageConfig::fromJson(j, annotationPath(keys::kOciImage));
    }
  } catch (const std::exception& e) {
    report.dropped("annotations",
                   std::string("a dev.ferry.oci annotation is damaged: ") + e.what());
  }
}

}  // namespace

oci::ImageConfig aciToOci(const appc::ImageManifest& m, Report& report) {
  oci::ImageConfig config;
  setPlatform(m, config, report);
  LabelMap labels;

  labels[std::string(keys::kAppcName)] = m.name.str();
  // Labels other than os/arch serve appc discovery; OCI has nowhere to put them.
  json::Json kept = json::Json::array();
  for (size_t i = 0; i < m.labels.size(); ++i) {
    const auto& l = m.labels.items()[i];
    if (l.name.str() == "os" || l.name.str() == "arch") continue;
    kept.push_back({{"name", l.name.str()}, {"value", l.value}});
    if (l.name.str() != "version") {
      report.annotated(json::index("labels", i), "appc label " + l.name.str() +
                                                     " has no OCI counterpart; kept in label " +
                                                     std::string(keys::kAppcLabels));
    }
  }
  if (!kept.empty()) labels[std::string(keys::kAppcLabels)] = json::dump(kept);

  if (m.app) {
    oci::ContainerConfig cc;
    mapApp(*m.app, cc, labels, report);
    config.config = std::move(cc);
  }

  std::map<std::string, json::Json> fromOci;
  for (size_t i = 0; i < m.annotations.size(); ++i) {
    const auto& a = m.annotations.items()[i];
    const std::string& name = a.name.str();
    if (name.rfind(keys::kOciPrefix, 0) == 0) {
      if (name != keys::kOciCmd && name != keys::kOciUser && name != keys::kOciEnv &&
          name != keys::kOciLabels && name != keys::kOciConfig && name != keys::kOciImage) {
        report.dropped(json::index("annotations", i), "unknown ferry annotation " + quote(name));
        continue;
      }
      try {
        fromOci[name] = json::parse(a.value, name);
      } catch (const Error& e) {
        report.dropped(json::index("annotations", i), std::string("damaged: ") + e.what());
      }
      continue;
    }
    if (name == keys::kCreated && looksLikeRfc3339(a.value)) {
      config.created = a.value;
    } else if (name == keys::kAuthors) {
      config.author = a.value;
    } else {
      if (name == keys::kCreated) {
        report.approximated(json::index("annotations", i),
                            "created is not an RFC 3339 date-time; kept as a label only");
      }
      labels[name] = a.value;
    }
  }
  if (!m.dependencies.empty()) {
    report.approximated("dependencies",
                        "dependencies are rendered into the OCI layers; the "
                        "references themselves are not kept");
  }
  if (!m.pathWhitelist.empty()) {
    report.approximated("pathWhitelist",
                        "the whitelist is applied to the rendered layers and "
                        "not kept");
  }

  if (!config.config) config.config = oci::ContainerConfig{};
  config.config->labels = std::move(labels);
  if (!fromOci.empty()) restoreOci(fromOci, config, report);
  return config;
}

}  // namespace ferry::translate
