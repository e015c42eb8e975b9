// `ferry image inspect IMAGE`: what an image runs with — exec, environment, user, working
// directory, ports, annotations and labels — from an ACI's app section or an OCI image's config,
// as a table (one field a line) or JSON.
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/image_ref.hpp"
#include "stage0/cli/table.hpp"
#include "stage0/store/store.hpp"

namespace ferry::cli {

namespace {

using json::Json;

const Json* member(const Json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return nullptr;
  return &o[key];
}

std::string stringOf(const Json& o, const char* key) {
  const Json* v = member(o, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

// appc's [{"name": N, "value": V}] as {N: V}.
Json nameValues(const Json* list) {
  Json out = Json::object();
  if (list == nullptr || !list->is_array()) return out;
  for (const Json& e : *list) {
    if (e.is_object() && e.contains("name") && e["name"].is_string() && e.contains("value") &&
        e["value"].is_string()) {
      out[e["name"].get<std::string>()] = e["value"];
    }
  }
  return out;
}

Json strings(const Json* v) {
  Json out = Json::array();
  if (v == nullptr || !v->is_array()) return out;
  for (const Json& s : *v) {
    if (s.is_string()) out.push_back(s);
  }
  return out;
}

Json fromAci(const store::ImageRecord& r) {
  Json m = json::parse(r.appcManifest, "manifest of " + r.id);
  Json app = member(m, "app") != nullptr ? m["app"] : Json::object();
  Json env = Json::array();
  Json vars = nameValues(member(app, "environment"));
  for (const auto& [k, v] : vars.items()) env.push_back(k + "=" + v.get<std::string>());
  Json ports = Json::array();
  if (const Json* ps = member(app, "ports"); ps != nullptr && ps->is_array()) {
    for (const Json& p : *ps) {
      if (!p.is_object()) continue;
      ports.push_back({{"name", stringOf(p, "name")},
                       {"protocol", stringOf(p, "protocol")},
                       {"port", p.contains("port") ? p["port"] : Json()}});
    }
  }
  return {{"exec", strings(member(app, "exec"))},
          {"user", stringOf(app, "user")},
          {"group", stringOf(app, "group")},
          {"workingDirectory", stringOf(app, "workingDirectory")},
          {"env", env},
          {"ports", ports},
          {"annotations", nameValues(member(m, "annotations"))},
          {"labels", nameValues(member(m, "labels"))}};
}

Json fromOci(store::Store& store, const store::ImageRecord& r) {
  Json config = Json::object();
  for (const auto& b : r.blobs) {
    if (b.role == store::BlobRole::kConfig) {
      Json doc = json::parse(store.openBlob(b.digest).readAll(4 << 20), "config of " + r.id);
      if (member(doc, "config") != nullptr) config = doc["config"];
    }
  }
  Json exec = strings(member(config, "Entrypoint"));
  for (const Json& s : strings(member(config, "Cmd"))) exec.push_back(s);
  std::string user = stringOf(config, "User");
  std::string group;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    group = user.substr(colon + 1);
    user = user.substr(0, colon);
  }
  Json ports = Json::array();
  if (const Json* ps = member(config, "ExposedPorts"); ps != nullptr && ps->is_object()) {
    for (const auto& [spec, ignored] : ps->items()) {
      std::string port = spec, protocol = "tcp";
      if (auto slash = spec.find('/'); slash != std::string::npos) {
        port = spec.substr(0, slash);
        protocol = spec.substr(slash + 1);
      }
      ports.push_back({{"name", port + "-" + protocol}, {"protocol", protocol}, {"port", port}});
    }
  }
  Json labels = Json::object();
  if (const Json* ls = member(config, "Labels"); ls != nullptr && ls->is_object()) labels = *ls;
  return {{"exec", exec},
          {"user", user},
          {"group", group},
          {"workingDirectory", stringOf(config, "WorkingDir")},
          {"env", strings(member(config, "Env"))},
          {"ports", ports},
          {"annotations", labels},
          {"labels", Json::object()},
          {"stopSignal", stringOf(config, "StopSignal")}};
}

std::string shellWord(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n\"'\\$`") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string joined(const Json& v, const char* sep, bool shell = false) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : sep) + s; };
  if (v.is_array()) {
    for (const Json& e : v) {
      if (e.is_string()) {
        add(shell ? shellWord(e.get<std::string>()) : e.get<std::string>());
      } else if (e.is_object()) {  // a port
        std::string port = e["port"].is_string() ? e["port"].get<std::string>() : e["port"].dump();
        add(e["name"].get<std::string>() + " " + port + "/" + e["protocol"].get<std::string>());
      }
    }
  } else if (v.is_object()) {
    for (const auto& [k, val] : v.items()) {
      add(k + "=" + (val.is_string() ? val.get<std::string>() : val.dump()));
    }
  }
  return out.empty() ? "-" : out;
}

}  // namespace

int imageInspectCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image inspect IMAGE",
                 "Show what an image runs with: exec, environment, user and group, working\n"
                 "directory, ports, annotations (an OCI image's labels) and labels.",
                 "IMAGE is an ID, an ID prefix or a name the image was fetched under.\n"
                 "--format=json gives the same fields as a JSON object.");
  addGlobalOptions(p, ctx.global);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (!storeExists(ctx.global)) throwNoSuch(ctx.global, "image", pos[0]);
  store::Store store = store::Store::open(ctx.global.dir);
  store::ImageRecord r = findStoredImage(store, pos[0]);
  Json info = {{"id", r.id}, {"kind", store::kindName(r.kind)}, {"name", store::displayName(r)}};
  Json fields = r.kind == store::ImageKind::kAci ? fromAci(r) : fromOci(store, r);
  for (const auto& [k, v] : fields.items()) info[k] = v;
  if (ctx.global.json()) {
    ctx.out << json::print(info, true) << "\n";
    return kExitOk;
  }
  auto text = [&](const char* key) {
    const Json& v = info[key];
    if (v.is_string())
      return v.get<std::string>().empty() ? std::string("-") : v.get<std::string>();
    return joined(v, key == std::string("exec") ? " " : ", ", key == std::string("exec"));
  };
  Table table({"FIELD", "VALUE"});
  table.add({"ID", text("id")});
  table.add({"KIND", text("kind")});
  table.add({"NAME", text("name")});
  table.add({"EXEC", text("exec")});
  table.add({"USER", text("user")});
  table.add({"GROUP", text("group")});
  table.add({"WORKING DIR", text("workingDirectory")});
  table.add({"ENV", text("env")});
  table.add({"PORTS", text("ports")});
  table.add({"ANNOTATIONS", text("annotations")});
  table.add({"LABELS", text("labels")});
  table.print(ctx.out, false);
  return kExitOk;
}

}  // namespace ferry::cli
