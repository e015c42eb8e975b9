#include "stage0/pod/runtime_options.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

const json::Json& need(const json::Json& j, std::string_view key, std::string_view what) {
  auto it = j.find(std::string(key));
  if (it == j.end())
    throw Error(Errc::kInvalid, std::string(what) + ": " + std::string(key) + ": missing");
  return *it;
}

}  // namespace

json::Json RuntimeOptions::toJson() const {
  json::Json j = json::Json::object();
  j["ferryRuntimeVersion"] = 1;
  j["uuid"] = uuid;
  j["hostname"] = hostname;
  j["net"] = net;
  j["interactive"] = interactive;
  j["noOverlay"] = noOverlay;
  j["stopTimeoutSeconds"] = stopTimeoutSeconds;
  j["debug"] = debug;
  j["stage2"] = stage2;
  j["init"] = init;
  if (mds) {
    j["mds"] = {{"socket", mds->socket}, {"token", mds->token}, {"port", mds->port}};
  } else {
    j["mds"] = nullptr;
  }
  j["podResources"] = podResources ? *podResources : json::Json(nullptr);
  if (privateUsers) {
    j["privateUsers"] = {
        {"uid", privateUsers->uid}, {"gid", privateUsers->gid}, {"count", privateUsers->count}};
  } else {
    j["privateUsers"] = nullptr;
  }
  json::Json apps = json::Json::array();
  for (const auto& a : this->apps) {
    apps.push_back({{"name", a.name},
                    {"image", a.image},
                    {"tree", a.tree},
                    {"readOnlyRootfs", a.readOnlyRootfs}});
  }
  j["apps"] = apps;
  return j;
}

RuntimeOptions RuntimeOptions::fromJson(const json::Json& j, std::string_view what) {
  json::asObject(j, what);
  RuntimeOptions o;
  std::string w(what);
  auto version = json::asInt(need(j, "ferryRuntimeVersion", what), w + ".ferryRuntimeVersion");
  if (version != 1) {
    throw Error(Errc::kUnsupported,
                w + ": ferryRuntimeVersion " + std::to_string(version) + " is not supported");
  }
  o.uuid = json::asString(need(j, "uuid", what), w + ".uuid");
  o.hostname = json::asString(need(j, "hostname", what), w + ".hostname");
  o.net = json::asString(need(j, "net", what), w + ".net");
  o.interactive = json::asBool(need(j, "interactive", what), w + ".interactive");
  if (j.contains("noOverlay")) o.noOverlay = json::asBool(j["noOverlay"], w + ".noOverlay");
  o.stopTimeoutSeconds = static_cast<int>(
      json::asInt(need(j, "stopTimeoutSeconds", what), w + ".stopTimeoutSeconds", 0, 1 << 20));
  if (j.contains("debug")) o.debug = json::asBool(j["debug"], w + ".debug");
  if (j.contains("stage2")) o.stage2 = json::asString(j["stage2"], w + ".stage2");
  if (j.contains("init")) o.init = json::asString(j["init"], w + ".init");
  if (j.contains("mds") && !j["mds"].is_null()) {
    const auto& m = json::asObject(j["mds"], w + ".mds");
    o.mds = MdsRegistration{
        json::asString(need(m, "socket", w + ".mds"), w + ".mds.socket"),
        json::asString(need(m, "token", w + ".mds"), w + ".mds.token"),
        static_cast<uint16_t>(json::asInt(need(m, "port", w + ".mds"), w + ".mds.port", 1, 65535))};
  }
  if (j.contains("podResources") && !j["podResources"].is_null())
    o.podResources = j["podResources"];
  if (j.contains("privateUsers") && !j["privateUsers"].is_null()) {
    std::string p = w + ".privateUsers";
    const auto& u = json::asObject(j["privateUsers"], p);
    auto id = [&](const char* k, int64_t min) {
      return static_cast<uint32_t>(json::asInt(need(u, k, p), p + "." + k, min, 4294967294LL));
    };
    o.privateUsers = PrivateUsersRange{id("uid", 1), id("gid", 1), id("count", 1)};
  }
  const auto& apps = json::asArray(need(j, "apps", what), w + ".apps");
  for (size_t i = 0; i < apps.size(); ++i) {
    std::string p = json::index(w + ".apps", i);
    const auto& a = json::asObject(apps[i], p);
    RuntimeApp ra;
    ra.name = json::asString(need(a, "name", p), p + ".name");
    ra.image = json::asString(need(a, "image", p), p + ".image");
    ra.tree = json::asString(need(a, "tree", p), p + ".tree");
    if (a.contains("readOnlyRootfs")) {
      ra.readOnlyRootfs = json::asBool(a["readOnlyRootfs"], p + ".readOnlyRootfs");
    }
    o.apps.push_back(std::move(ra));
  }
  return o;
}

RuntimeOptions RuntimeOptions::read(const fs::path& podDir) {
  fs::path f = podDir / "runtime.json";
  return fromJson(json::parse(readFile(f, 4 << 20), f.string()), f.string());
}

json::Json AppStatus::toJson() const {
  json::Json j = json::Json::object();
  j["name"] = name;
  j["state"] = state;
  auto opt = [&](const char* k, const auto& v) {
    if (v) {
      j[k] = *v;
    } else {
      j[k] = nullptr;
    }
  };
  opt("pid", pid);
  opt("createdAt", createdAt);
  opt("startedAt", startedAt);
  opt("finishedAt", finishedAt);
  opt("exitCode", exitCode);
  opt("signal", signal);
  j["oomKilled"] = oomKilled;
  return j;
}

std::optional<AppStatus> readAppStatus(const fs::path& podDir, const std::string& app) {
  fs::path f = podDir / "status" / (app + ".json");
  std::error_code ec;
  if (!fs::exists(f, ec)) return std::nullopt;
  std::string what = f.string();
  json::Json j = json::parse(readFile(f, 1 << 20), what);
  json::asObject(j, what);
  AppStatus s;
  s.name = app;
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return json::asString(j[k], what + "." + k);
  };
  auto num = [&](const char* k) -> std::optional<int64_t> {
    if (!j.contains(k) || j[k].is_null()) return std::nullopt;
    return json::asInt(j[k], what + "." + k);
  };
  s.state = str("state").value_or("");
  s.pid = num("pid");
  s.createdAt = num("createdAt");
  s.startedAt = num("startedAt");
  s.finishedAt = num("finishedAt");
  if (auto c = num("exitCode")) s.exitCode = static_cast<int>(*c);
  s.signal = str("signal");
  if (j.contains("oomKilled") && !j["oomKilled"].is_null()) {
    s.oomKilled = json::asBool(j["oomKilled"], what + ".oomKilled");
  }
  return s;
}

std::optional<int64_t> readNumberFile(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  std::string text = readFile(file, 4096);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw Error(Errc::kInvalid, quote(file.string()) + ": not a number: " + quote(text));
  }
}

std::optional<int64_t> fileTime(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace ferry::pod
