#include "formats/appc/app.hpp"

#include <set>

#include "common/error.hpp"
#include "formats/appc/json_util.hpp"

namespace ferry::appc {

namespace {

using json::Json;

EventHandler eventHandlerFromJson(const Json& j, const std::string& path) {
  json::Object o(j, path);
  EventHandler h;
  h.exec = detail::stringList(o.require("exec"), o.pathOf("exec"));
  h.name = o.string("name");
  o.done();
  if (h.name != kPreStart && h.name != kPostStop) {
    json::fail(o.pathOf("name"), "must be \"pre-start\" or \"post-stop\", not " + quote(h.name));
  }
  if (h.exec.empty()) json::fail(o.pathOf("exec"), "must not be empty");
  return h;
}

template <typename T>
std::vector<T> listFromJson(json::Object& o, std::string_view key, bool nullIsAbsent = false) {
  std::vector<T> out;
  if (const Json* a = detail::optArray(o, key, nullIsAbsent)) {
    std::string path = o.pathOf(key);
    out = detail::listFromJson<T>(*a, path);
  }
  return out;
}

}  // namespace

MountPoint MountPoint::fromJson(const Json& j, std::string_view path) {
  json::Object o(j, std::string(path));
  MountPoint m{detail::parseField<AcName>(o, "name"), o.string("path"), o.optBool("readOnly")};
  o.done();
  if (m.path.empty()) json::fail(o.pathOf("path"), "must not be empty");
  return m;
}

Json MountPoint::toJson() const {
  Json o = Json::object();
  o["name"] = name.str();
  o["path"] = path;
  if (readOnly) o["readOnly"] = *readOnly;
  return o;
}

Port Port::fromJson(const Json& j, std::string_view path) {
  json::Object o(j, std::string(path));
  AcName name = detail::parseField<AcName>(o, "name");
  Port p{std::move(name), o.string("protocol"), static_cast<uint16_t>(o.integer("port", 1, 65535)),
         std::nullopt, std::nullopt};
  if (auto count = o.optInteger("count", 1, 65535)) p.count = static_cast<uint32_t>(*count);
  p.socketActivated = o.optBool("socketActivated");
  o.done();
  if (p.protocol.empty()) json::fail(o.pathOf("protocol"), "must not be empty");
  if (p.count && p.port + *p.count - 1 > 65535) {
    json::fail(o.pathOf("count"), "the range " + std::to_string(p.port) + "+" +
                                      std::to_string(*p.count) + " goes past port 65535");
  }
  return p;
}

Json Port::toJson() const {
  Json o = Json::object();
  o["name"] = name.str();
  o["protocol"] = protocol;
  o["port"] = port;
  if (count) o["count"] = *count;
  if (socketActivated) o["socketActivated"] = *socketActivated;
  return o;
}

App App::fromJson(const Json& j, std::string_view pathView) {
  std::string path(pathView);
  json::Object o(j, path);
  App app;
  // Go's encoder writes a missing exec as null.
  if (const Json* e = detail::optArray(o, "exec", /*nullIsAbsent=*/true)) {
    app.exec = detail::stringList(*e, o.pathOf("exec"));
  }
  app.user = o.string("user");
  if (app.user.empty()) json::fail(o.pathOf("user"), "must not be empty");
  app.group = o.string("group");
  if (app.group.empty()) json::fail(o.pathOf("group"), "must not be empty");
  if (const Json* g = detail::optArray(o, "supplementaryGIDs")) {
    std::string gp = o.pathOf("supplementaryGIDs");
    for (size_t i = 0; i < g->size(); ++i) {
      // 2^32 - 1 is (gid_t)-1, "no group", never a real one.
      app.supplementaryGIDs.push_back(
          static_cast<uint32_t>(json::asUint((*g)[i], json::index(gp, i), UINT32_MAX - 1)));
    }
  }
  if (const Json* h = detail::optArray(o, "eventHandlers")) {
    std::string hp = o.pathOf("eventHandlers");
    for (size_t i = 0; i < h->size(); ++i) {
      app.eventHandlers.push_back(eventHandlerFromJson((*h)[i], json::index(hp, i)));
    }
    detail::requireUniqueNames(app.eventHandlers, hp, "event handler",
                               [](const EventHandler& e) -> const std::string& { return e.name; });
  }
  if (auto wd = o.optString("workingDirectory")) {
    detail::requireAbsolutePath(*wd, o.pathOf("workingDirectory"));
    app.workingDirectory = std::move(*wd);
  }
  if (const Json* e = detail::optArray(o, "environment")) {
    app.environment = Environment::fromJson(*e, o.pathOf("environment"));
  }
  if (const Json* i = detail::optArray(o, "isolators")) {
    app.isolators = isolatorsFromJson(*i, o.pathOf("isolators"));
  }
  app.mountPoints = listFromJson<MountPoint>(o, "mountPoints");
  detail::requireUniqueNames(
      app.mountPoints, o.pathOf("mountPoints"), "mount point",
      [](const MountPoint& m) -> const std::string& { return m.name.str(); });
  app.ports = listFromJson<Port>(o, "ports");
  detail::requireUniqueNames(app.ports, o.pathOf("ports"), "port",
                             [](const Port& p) -> const std::string& { return p.name.str(); });
  if (const Json* a = o.find("userAnnotations")) {
    app.userAnnotations = detail::stringMap(*a, o.pathOf("userAnnotations"));
  }
  if (const Json* l = o.find("userLabels")) {
    app.userLabels = detail::stringMap(*l, o.pathOf("userLabels"));
  }
  o.done();
  return app;
}

Json App::toJson() const {
  Json o = Json::object();
  if (!exec.empty()) o["exec"] = detail::toJson(exec);
  o["user"] = user;
  o["group"] = group;
  if (!supplementaryGIDs.empty()) {
    Json g = Json::array();
    for (uint32_t gid : supplementaryGIDs) g.push_back(gid);
    o["supplementaryGIDs"] = std::move(g);
  }
  if (!eventHandlers.empty()) {
    Json h = Json::array();
    for (const auto& e : eventHandlers) {
      Json eh = Json::object();
      eh["exec"] = detail::toJson(e.exec);
      eh["name"] = e.name;
      h.push_back(std::move(eh));
    }
    o["eventHandlers"] = std::move(h);
  }
  if (workingDirectory) o["workingDirectory"] = *workingDirectory;
  if (!environment.empty()) o["environment"] = environment.toJson();
  if (!isolators.empty()) o["isolators"] = appc::toJson(isolators);
  if (!mountPoints.empty()) o["mountPoints"] = detail::listToJson(mountPoints);
  if (!ports.empty()) o["ports"] = detail::listToJson(ports);
  if (!userAnnotations.empty()) o["userAnnotations"] = detail::toJson(userAnnotations);
  if (!userLabels.empty()) o["userLabels"] = detail::toJson(userLabels);
  return o;
}

}  // namespace ferry::appc
