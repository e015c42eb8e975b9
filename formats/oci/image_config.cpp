#include "formats/oci/image_config.hpp"

#include "common/error.hpp"
#include "formats/oci/json_util.hpp"

namespace ferry::oci {

using namespace detail;

namespace {

Healthcheck healthcheckFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  Healthcheck h;
  h.test = optStringArray(o, "Test");
  h.interval = optInt(o, "Interval", 0);
  h.timeout = optInt(o, "Timeout", 0);
  h.startPeriod = optInt(o, "StartPeriod", 0);
  h.startInterval = optInt(o, "StartInterval", 0);
  h.retries = optInt(o, "Retries", 0);
  h.extra = finish(o, opts);
  return h;
}

Json healthcheckToJson(const Healthcheck& h) {
  Json out = Json::object();
  put(out, "Test", h.test);
  put(out, "Interval", h.interval);
  put(out, "Timeout", h.timeout);
  put(out, "StartPeriod", h.startPeriod);
  put(out, "StartInterval", h.startInterval);
  put(out, "Retries", h.retries);
  appendExtra(out, h.extra);
  return out;
}

RootFs rootfsFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  RootFs r;
  r.type = o.string("type");
  // config.md: implementations MUST generate an error for an unknown value.
  if (r.type != "layers") json::fail(o.pathOf("type"), "must be \"layers\", not " + quote(r.type));
  r.diffIds = arrayOf(o.require("diff_ids"), o.pathOf("diff_ids"),
                      [](const Json& e, const std::string& p) { return digestAt(e, p); });
  r.extra = finish(o, opts);
  return r;
}

HistoryEntry historyFromJson(const Json& j, const std::string& path, const ParseOptions& opts) {
  Object o(j, path);
  HistoryEntry h;
  h.created = optString(o, "created");
  h.createdBy = optString(o, "created_by");
  h.author = optString(o, "author");
  h.comment = optString(o, "comment");
  h.emptyLayer = optBool(o, "empty_layer");
  h.extra = finish(o, opts);
  return h;
}

Json historyToJson(const HistoryEntry& h) {
  Json out = Json::object();
  put(out, "created", h.created);
  put(out, "created_by", h.createdBy);
  put(out, "author", h.author);
  put(out, "comment", h.comment);
  put(out, "empty_layer", h.emptyLayer);
  appendExtra(out, h.extra);
  return out;
}

}  // namespace

ContainerConfig ContainerConfig::fromJson(const Json& j, const std::string& path,
                                          const ParseOptions& opts) {
  Object o(j, path);
  ContainerConfig c;
  c.hostname = optString(o, "Hostname");
  c.domainname = optString(o, "Domainname");
  c.user = optString(o, "User");
  c.memory = optInt(o, "Memory");
  c.memorySwap = optInt(o, "MemorySwap", -1);
  c.cpuShares = optInt(o, "CpuShares");
  c.attachStdin = optBool(o, "AttachStdin");
  c.attachStdout = optBool(o, "AttachStdout");
  c.attachStderr = optBool(o, "AttachStderr");
  c.exposedPorts = optEmptyObjectSet(o, "ExposedPorts");
  c.tty = optBool(o, "Tty");
  c.openStdin = optBool(o, "OpenStdin");
  c.stdinOnce = optBool(o, "StdinOnce");
  c.env = optStringArray(o, "Env");
  c.cmd = optStringArray(o, "Cmd");
  if (const Json* v = opt(o, "Healthcheck")) {
    c.healthcheck = healthcheckFromJson(*v, o.pathOf("Healthcheck"), opts);
  }
  c.argsEscaped = optBool(o, "ArgsEscaped");
  c.image = optString(o, "Image");
  c.volumes = optEmptyObjectSet(o, "Volumes");
  c.workingDir = optString(o, "WorkingDir");
  c.entrypoint = optStringArray(o, "Entrypoint");
  c.networkDisabled = optBool(o, "NetworkDisabled");
  c.macAddress = optString(o, "MacAddress");
  c.onBuild = optStringArray(o, "OnBuild");
  if (const Json* v = opt(o, "Labels")) c.labels = stringMap(*v, o.pathOf("Labels"));
  c.stopSignal = optString(o, "StopSignal");
  c.stopTimeout = optInt(o, "StopTimeout");
  c.shell = optStringArray(o, "Shell");
  c.extra = finish(o, opts);
  return c;
}

// OCI fields first in the spec's order, then Docker's.
Json ContainerConfig::toJson() const {
  Json out = Json::object();
  put(out, "User", user);
  put(out, "Memory", memory);
  put(out, "MemorySwap", memorySwap);
  put(out, "CpuShares", cpuShares);
  if (exposedPorts) out["ExposedPorts"] = detail::toJson(*exposedPorts);
  put(out, "Env", env);
  put(out, "Entrypoint", entrypoint);
  put(out, "Cmd", cmd);
  if (volumes) out["Volumes"] = detail::toJson(*volumes);
  put(out, "WorkingDir", workingDir);
  if (labels) out["Labels"] = detail::toJson(*labels);
  put(out, "StopSignal", stopSignal);
  put(out, "ArgsEscaped", argsEscaped);
  put(out, "Hostname", hostname);
  put(out, "Domainname", domainname);
  put(out, "AttachStdin", attachStdin);
  put(out, "AttachStdout", attachStdout);
  put(out, "AttachStderr", attachStderr);
  put(out, "Tty", tty);
  put(out, "OpenStdin", openStdin);
  put(out, "StdinOnce", stdinOnce);
  if (healthcheck) out["Healthcheck"] = healthcheckToJson(*healthcheck);
  put(out, "Image", image);
  put(out, "NetworkDisabled", networkDisabled);
  put(out, "MacAddress", macAddress);
  put(out, "OnBuild", onBuild);
  put(out, "StopTimeout", stopTimeout);
  put(out, "Shell", shell);
  appendExtra(out, extra);
  return out;
}

ImageConfig ImageConfig::fromJson(const Json& j, const std::string& path,
                                  const ParseOptions& opts) {
  Object o(j, path);
  ImageConfig c;
  c.created = optString(o, "created");
  c.author = optString(o, "author");
  c.architecture = o.string("architecture");
  c.os = o.string("os");
  c.osVersion = optString(o, "os.version");
  c.osFeatures = optStringArray(o, "os.features");
  c.variant = optString(o, "variant");
  if (const Json* v = opt(o, "config")) {
    c.config = ContainerConfig::fromJson(*v, o.pathOf("config"), opts);
  }
  c.rootfs = rootfsFromJson(o.require("rootfs"), o.pathOf("rootfs"), opts);
  if (const Json* v = opt(o, "history")) {
    c.history = arrayOf(*v, o.pathOf("history"), [&](const Json& e, const std::string& p) {
      return historyFromJson(e, p, opts);
    });
  }
  c.container = optString(o, "container");
  if (const Json* v = opt(o, "container_config")) {
    c.containerConfig = ContainerConfig::fromJson(*v, o.pathOf("container_config"), opts);
  }
  c.dockerVersion = optString(o, "docker_version");
  c.extra = finish(o, opts);
  return c;
}

ImageConfig ImageConfig::parse(std::string_view text, std::string_view what,
                               const ParseOptions& opts) {
  return fromJson(json::parse(text, what), "", opts);
}

Json ImageConfig::toJson() const {
  Json out = Json::object();
  put(out, "created", created);
  put(out, "author", author);
  out["architecture"] = architecture;
  out["os"] = os;
  put(out, "os.version", osVersion);
  put(out, "os.features", osFeatures);
  put(out, "variant", variant);
  if (config) out["config"] = config->toJson();
  Json r = Json::object();
  r["type"] = rootfs.type;
  Json ids = Json::array();
  for (const auto& d : rootfs.diffIds) ids.push_back(d.str());
  r["diff_ids"] = std::move(ids);
  appendExtra(r, rootfs.extra);
  out["rootfs"] = std::move(r);
  if (!history.empty()) {
    Json h = Json::array();
    for (const auto& e : history) h.push_back(historyToJson(e));
    out["history"] = std::move(h);
  }
  put(out, "container", container);
  if (containerConfig) out["container_config"] = containerConfig->toJson();
  put(out, "docker_version", dockerVersion);
  appendExtra(out, extra);
  return out;
}

std::string ImageConfig::dump() const { return json::dump(toJson()); }

size_t ImageConfig::nonEmptyHistory() const {
  size_t n = 0;
  for (const auto& h : history) {
    if (!h.emptyLayer.value_or(false)) ++n;
  }
  return n;
}

}  // namespace ferry::oci
