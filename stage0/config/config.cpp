#include "stage0/config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "discovery/auth.hpp"

namespace ferry::config {

namespace fs = std::filesystem;

Dirs defaultDirs() {
  Dirs d;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && x[0] == '/') {
    d.user = fs::path(x) / "ferry";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    d.user = fs::path(home) / ".config" / "ferry";
  }
  return d;
}

std::string HostAuth::authorization() const {
  if (type == "oauth") return "Bearer " + token;
  return registry::basicAuthorization({user, password});
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// What names a file's origin in errors.
[[noreturn]] void invalid(const fs::path& f, const std::string& why, Errc code = Errc::kInvalid) {
  throw Error(code, "invalid configuration " + quote(f.string()) + ": " + why);
}

void checkOwner(const struct stat& st, const fs::path& p) {
  uid_t euid = ::geteuid();
  if ((st.st_uid != 0 && st.st_uid != euid) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw Error(Errc::kSecurity, "cannot use the configuration " + quote(p.string()) +
                                     ": it is writable by others than root" +
                                     (euid == 0 ? "" : " or its user"));
  }
}

// Whether dir is a directory to read (after the owner check); false when absent or unsearchable.
bool usableDir(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return false;
    throwErrno("stat " + quote(dir.string()));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw Error(Errc::kInvalid,
                "cannot use the configuration " + quote(dir.string()) + ": not a directory");
  }
  checkOwner(st, dir);
  return true;
}

std::optional<json::Json> readFile(const fs::path& f) {
  UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ELOOP) {
      throw Error(Errc::kSecurity, "cannot use the configuration " + quote(f.string()) +
                                       ": a symlink (name the file itself)");
    }
    if (errno == ENOENT) return std::nullopt;  // gone since the directory was listed
    throwErrno("open " + quote(f.string()));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(f.string()));
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  checkOwner(st, f);
  constexpr size_t kMax = 64 << 10;
  std::string text(kMax, '\0');
  text.resize(readFull(fd.get(), text.data(), text.size(), f.string()));
  if (text.size() == kMax) invalid(f, "too large", Errc::kLimit);
  try {
    return json::parse(text, f.string());
  } catch (const Error& e) {
    throw Error(e.code(), "invalid configuration " + quote(f.string()) + ": " + e.what());
  }
}

// One file's header: the kind and version, from ferry's or rkt's field names.
std::string header(json::Object& o, std::string_view ferryField, std::string_view rktField) {
  std::optional<std::string> f = o.optString(ferryField), r = o.optString(rktField);
  if (f && r && *f != *r) json::fail(rktField, "disagrees with " + std::string(ferryField));
  std::string v = f ? *f : r ? *r : std::string();
  if (v.empty()) json::fail(ferryField, "missing or empty");
  return v;
}

std::vector<std::string> hosts(json::Object& o, std::string_view key) {
  const json::Json& a = json::asArray(o.require(key), o.pathOf(key));
  if (a.empty()) json::fail(key, "empty");
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string p = json::index(o.pathOf(key), i);
    const std::string& h = json::asString(a[i], p);
    // host[:port] only: a scheme or a path would never match a request's host.
    if (h.empty() || h.find_first_of("/@ \t") != std::string::npos) {
      json::fail(p, "want a host or host:port, not " + quote(h));
    }
    out.push_back(lower(h));
  }
  return out;
}

std::string nonEmpty(json::Object& o, std::string_view key) {
  std::string v = o.string(key);
  if (v.empty()) json::fail(o.pathOf(key), "empty");
  return v;
}

BasicCredentials basic(json::Object& parent) {
  json::Object c(parent.require("credentials"), parent.pathOf("credentials"));
  BasicCredentials b{nonEmpty(c, "user"), nonEmpty(c, "password")};
  c.done();
  return b;
}

// What one directory set, with the file that set each thing (duplicates are errors).
struct DirState {
  Config c;
  std::map<std::string, fs::path> setBy;  // "auth:HOST", "docker:HOST", "data", …

  void claim(const std::string& what, const fs::path& f, std::string_view label) {
    auto [it, fresh] = setBy.emplace(what, f);
    if (!fresh) {
      json::fail("", std::string(label) + " also set by " + quote(it->second.string()));
    }
  }
};

void parseAuth(DirState& s, json::Object& o, const fs::path& f) {
  std::vector<std::string> domains = hosts(o, "domains");
  HostAuth a;
  a.type = o.string("type");
  json::Object c(o.require("credentials"), o.pathOf("credentials"));
  if (a.type == "basic") {
    a.user = nonEmpty(c, "user");
    a.password = nonEmpty(c, "password");
  } else if (a.type == "oauth") {
    a.token = nonEmpty(c, "token");
  } else if (a.type == "aws") {
    throw Error(Errc::kUnsupported, "not supported: auth type \"aws\" (basic and oauth are)");
  } else {
    json::fail("type", "want \"basic\" or \"oauth\", not " + quote(a.type));
  }
  c.done();
  for (const auto& d : domains) {
    s.claim("auth:" + d, f, "auth for " + quote(d));
    s.c.auth[d] = a;
  }
}

void parseDockerAuth(DirState& s, json::Object& o, const fs::path& f) {
  std::vector<std::string> registries = hosts(o, "registries");
  BasicCredentials b = basic(o);
  for (const auto& r : registries) {
    s.claim("docker:" + r, f, "credentials for registry " + quote(r));
    s.c.dockerAuth[r] = b;
  }
}

void parsePaths(DirState& s, json::Object& o, const fs::path& f) {
  auto path = [&](std::string_view key, std::optional<fs::path>& out) {
    std::optional<std::string> v = o.optString(key);
    if (!v) return;
    if (v->empty() || (*v)[0] != '/') json::fail(key, "want an absolute path, not " + quote(*v));
    s.claim(std::string(key), f, std::string(key));
    out = fs::path(*v).lexically_normal();
  };
  path("data", s.c.paths.data);
  path("stage1-images", s.c.paths.stage1Images);
}

void parseStage1(DirState& s, json::Object& o, const fs::path& f) {
  std::optional<std::string> name = o.optString("name"), version = o.optString("version"),
                             location = o.optString("location");
  if (version && !name) json::fail("version", "without a name");
  if (name) {
    if (name->empty()) json::fail("name", "empty");
    s.claim("stage1 name", f, "name");
    s.c.stage1.name = name;
    s.c.stage1.version = version;
  }
  if (location) {
    const std::string& l = *location;
    bool url = l.starts_with("file://") || l.starts_with("docker://") || l.starts_with("http://") ||
               l.starts_with("https://");
    if (l.empty() || (l[0] != '/' && !url)) {
      json::fail("location",
                 "want an absolute path or a file://, docker://, http:// or "
                 "https:// URL, not " +
                     quote(l));
    }
    s.claim("stage1 location", f, "location");
    s.c.stage1.location = location;
  }
}

struct Kind {
  std::string_view name;
  void (*parse)(DirState&, json::Object&, const fs::path&);
};

constexpr Kind kAuth{"auth", parseAuth};
constexpr Kind kDockerAuth{"dockerAuth", parseDockerAuth};
constexpr Kind kPaths{"paths", parsePaths};
constexpr Kind kStage1{"stage1", parseStage1};

struct SubDir {
  std::string_view name;
  std::vector<Kind> kinds;
};

const std::vector<SubDir>& subDirs() {
  static const std::vector<SubDir> k = {{"auth.d", {kAuth, kDockerAuth}},
                                        {"docker.d", {kDockerAuth}},
                                        {"paths.d", {kPaths}},
                                        {"stage1.d", {kStage1}}};
  return k;
}

void readFileInto(DirState& s, const fs::path& f, const SubDir& sub) {
  std::optional<json::Json> j = readFile(f);
  if (!j) return;
  try {
    json::asObject(*j, "");
    json::Object o(*j, "");
    std::string kind = header(o, "ferryKind", "rktKind");
    std::string version = header(o, "ferryVersion", "rktVersion");
    auto k = std::find_if(sub.kinds.begin(), sub.kinds.end(),
                          [&](const Kind& x) { return x.name == kind; });
    if (k == sub.kinds.end()) {
      std::string want;
      for (const auto& x : sub.kinds)
        want += (want.empty() ? "\"" : " or \"") + std::string(x.name) + "\"";
      json::fail("ferryKind",
                 std::string(sub.name) + " holds kind " + want + ", not " + quote(kind));
    }
    if (version != "v1") json::fail("ferryVersion", "want \"v1\", not " + quote(version));
    k->parse(s, o, f);
    o.done();
  } catch (const Error& e) {
    if (e.code() == Errc::kSecurity) throw;
    throw Error(e.code(), "invalid configuration " + quote(f.string()) + ": " + e.what());
  }
}

}  // namespace

Config loadDir(const fs::path& dir) {
  DirState s;
  if (dir.empty() || !usableDir(dir)) return s.c;
  for (const auto& sub : subDirs()) {
    fs::path d = dir / sub.name;
    if (!usableDir(d)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) readFileInto(s, f, sub);
  }
  return s.c;
}

Config load(const Dirs& dirs) {
  Config c;
  for (const fs::path* d : {&dirs.local, &dirs.system}) {
    if (!d->empty()) c.netDirs.push_back(*d / "net.d");
  }
  for (const fs::path* d : {&dirs.system, &dirs.local, &dirs.user}) {
    Config l = loadDir(*d);
    for (auto& [k, v] : l.auth) c.auth[k] = std::move(v);
    for (auto& [k, v] : l.dockerAuth) c.dockerAuth[k] = std::move(v);
    if (l.paths.data) c.paths.data = l.paths.data;
    if (l.paths.stage1Images) c.paths.stage1Images = l.paths.stage1Images;
    if (l.stage1.name) {
      c.stage1.name = l.stage1.name;
      c.stage1.version = l.stage1.version;
    }
    if (l.stage1.location) c.stage1.location = l.stage1.location;
  }
  return c;
}

const HostAuth* authFor(const Config& c, std::string_view hostPort) {
  auto it = c.auth.find(lower(hostPort));
  return it == c.auth.end() ? nullptr : &it->second;
}

json::Json toJson(const Config& c, bool showSecrets) {
  auto secret = [&](const std::string& s) { return showSecrets ? s : std::string("***"); };
  json::Json stage0 = json::Json::array();
  for (const auto& [host, a] : c.auth) {
    json::Json creds = a.type == "oauth"
                           ? json::Json{{"token", secret(a.token)}}
                           : json::Json{{"user", a.user}, {"password", secret(a.password)}};
    stage0.push_back({{"ferryVersion", "v1"},
                      {"ferryKind", "auth"},
                      {"domains", {host}},
                      {"type", a.type},
                      {"credentials", creds}});
  }
  for (const auto& [reg, b] : c.dockerAuth) {
    stage0.push_back({{"ferryVersion", "v1"},
                      {"ferryKind", "dockerAuth"},
                      {"registries", {reg}},
                      {"credentials", {{"user", b.user}, {"password", secret(b.password)}}}});
  }
  json::Json paths = {{"ferryVersion", "v1"}, {"ferryKind", "paths"}};
  if (c.paths.data) paths["data"] = c.paths.data->string();
  if (c.paths.stage1Images) paths["stage1-images"] = c.paths.stage1Images->string();
  stage0.push_back(paths);
  json::Json s1 = {{"ferryVersion", "v1"}, {"ferryKind", "stage1"}};
  if (c.stage1.name) s1["name"] = *c.stage1.name;
  if (c.stage1.version) s1["version"] = *c.stage1.version;
  if (c.stage1.location) s1["location"] = *c.stage1.location;
  stage0.push_back(s1);
  return {{"stage0", stage0}};
}

}  // namespace ferry::config
