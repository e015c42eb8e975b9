#include "stage0/net/networks.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage0/net/cni.hpp"

namespace ferry::net {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSystemConfigDir = "/etc/ferry/net.d";

bool validName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t c = s.find(sep, start);
    out.emplace_back(s.substr(start, c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

uint16_t portNumber(std::string_view text, const std::string& flag, std::string_view whole) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 ||
      v > 65535) {
    throw Error(Errc::kUsage, "--" + flag + " " + quote(whole) + ": not a port: " + quote(text));
  }
  return static_cast<uint16_t>(v);
}

void checkHostIp(const std::string& ip, const std::string& flag, std::string_view whole) {
  bool ok = !ip.empty() && std::all_of(ip.begin(), ip.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':';
  });
  if (!ok) throw Error(Errc::kUsage, "--" + flag + " " + quote(whole) + ": not an IP address");
}

// ferry's own networks (rkt's default and default-restricted).
json::Json builtin(const std::string& name) {
  bool restricted = name == "default-restricted";
  json::Json ipam = {{"type", "host-local"},
                     {"subnet", restricted ? "172.16.29.0/24" : "172.16.28.0/24"}};
  if (!restricted) ipam["routes"] = json::Json::array({{{"dst", "0.0.0.0/0"}}});
  json::Json ptp = {{"type", "ptp"}, {"ipMasq", !restricted}, {"ipam", ipam}};
  return {{"cniVersion", "1.0.0"}, {"name", name}, {"plugins", json::Json::array({ptp})}};
}

struct Found {
  json::Json list;
  std::string file;
};

// Every configuration of the directories by network name (an earlier directory, then an
// earlier file name wins); files that cannot be used, with the reason.
struct Catalog {
  std::map<std::string, Found> byName;
  std::vector<std::string> unusable;
};

Catalog readCatalog(const std::vector<fs::path>& dirs) {
  Catalog c;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string ext = e.path().extension().string();
      if (ext == ".conf" || ext == ".json" || ext == ".conflist") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string what = quote(f.string());
      try {
        struct stat st {};
        if (::lstat(f.c_str(), &st) != 0) throwErrno("stat " + what);
        if (!S_ISREG(st.st_mode)) {
          throw Error(Errc::kSecurity,
                      "cannot use the network configuration " + what + ": not a regular file");
        }
        if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & 022) != 0) {
          throw Error(Errc::kSecurity, "cannot use the network configuration " + what +
                                           ": it must be root's and writable by nobody else");
        }
        json::Json j;
        try {
          j = json::parse(readFile(f, 1 << 20), f.string());
        } catch (const std::exception& e) {
          throw Error(Errc::kInvalid,
                      "cannot use the network configuration " + what + ": " + e.what());
        }
        json::Json list = f.extension() == ".conflist" ? j : listOfConf(j);
        if (!list.is_object() || !list.contains("name") || !list["name"].is_string()) {
          throw Error(Errc::kInvalid,
                      "cannot use the network configuration " + what + ": no \"name\"");
        }
        std::string name = list["name"].get<std::string>();
        if (!c.byName.contains(name)) c.byName[name] = Found{list, f.string()};
      } catch (const std::exception& e) {
        c.unusable.emplace_back(e.what());
      }
    }
  }
  return c;
}

}  // namespace

void NetSpec::add(std::string_view textIn) {
  std::string_view text = textIn.empty() ? std::string_view("default") : textIn;
  if (text == "host" || text == "none") {
    Mode m = text == "host" ? Mode::kHost : Mode::kNone;
    if (mode == Mode::kCni || (hostOrNone && mode != m)) {
      throw Error(Errc::kUsage,
                  "--net=" + std::string(text) + " cannot be combined with other networks");
    }
    mode = m;
    hostOrNone = true;
    return;
  }
  if (hostOrNone) {
    throw Error(Errc::kUsage, "--net=host and --net=none cannot be combined with other networks");
  }
  mode = Mode::kCni;
  for (const auto& item : split(text, ',')) {
    if (item == "all") {
      all = true;
      continue;
    }
    NetworkRef ref;
    auto colon = item.find(':');
    ref.name = item.substr(0, colon);
    if (!validName(ref.name) || ref.name == "host" || ref.name == "none") {
      throw Error(Errc::kUsage, "--net: not a network name: " + quote(ref.name));
    }
    if (colon != std::string::npos) {
      for (const auto& kv : split(std::string_view(item).substr(colon + 1), ';')) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          throw Error(Errc::kUsage,
                      "--net " + quote(item) + ": want NAME:ARG=VALUE;…, not " + quote(kv));
        }
        ref.args.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
    }
    auto same = [&](const NetworkRef& r) { return r.name == ref.name; };
    if (std::any_of(networks.begin(), networks.end(), same)) {
      throw Error(Errc::kUsage, "--net: network " + quote(ref.name) + " named twice");
    }
    networks.push_back(std::move(ref));
  }
}

std::string NetSpec::text() const {
  if (mode == Mode::kHost) return "host";
  if (mode == Mode::kNone) return "none";
  std::string out = all ? "all" : "";
  for (const auto& n : networks) out += (out.empty() ? "" : ",") + n.name;
  return out;
}

PortRequest parsePort(std::string_view text) {
  // NAME:[HOSTIP:]HOSTPORT; an IPv6 host address in brackets.
  PortRequest p;
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw Error(Errc::kUsage, "--port: want NAME:[HOSTIP:]HOSTPORT, not " + quote(text));
  }
  p.name = std::string(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  auto last = rest.rfind(':');
  if (last != std::string_view::npos) {
    std::string ip(rest.substr(0, last));
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    checkHostIp(ip, "port", text);
    p.hostIp = ip;
    rest = rest.substr(last + 1);
  }
  p.hostPort = portNumber(rest, "port", text);
  return p;
}

PortRequest parsePublish(std::string_view text) {
  // [HOSTIP:]HOSTPORT:PODPORT[/PROTO]
  PortRequest p;
  std::string_view t = text;
  auto slash = t.rfind('/');
  if (slash != std::string_view::npos) {
    p.protocol = std::string(t.substr(slash + 1));
    if (p.protocol != "tcp" && p.protocol != "udp") {
      throw Error(Errc::kUsage,
                  "--publish " + quote(text) + ": want tcp or udp, not " + quote(p.protocol));
    }
    t = t.substr(0, slash);
  }
  auto last = t.rfind(':');
  if (last == std::string_view::npos) {
    throw Error(Errc::kUsage,
                "--publish: want [HOSTIP:]HOSTPORT:PODPORT[/tcp|udp], not " + quote(text));
  }
  p.podPort = portNumber(t.substr(last + 1), "publish", text);
  t = t.substr(0, last);
  auto hostColon = t.rfind(':');
  if (hostColon != std::string_view::npos) {
    std::string ip(t.substr(0, hostColon));
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    checkHostIp(ip, "publish", text);
    p.hostIp = ip;
    t = t.substr(hostColon + 1);
  }
  p.hostPort = portNumber(t, "publish", text);
  return p;
}

json::Json NetPlan::toJson() const {
  json::Json nets = json::Json::array();
  for (const auto& n : networks) {
    json::Json args = json::Json::array();
    for (const auto& [k, v] : n.args) args.push_back({k, v});
    nets.push_back({{"name", n.name}, {"ifName", n.ifName}, {"args", args}, {"config", n.config}});
  }
  json::Json ps = json::Json::array();
  for (const auto& p : ports) {
    ps.push_back({{"name", p.name},
                  {"hostIP", p.hostIp},
                  {"hostPort", p.hostPort},
                  {"containerPort", p.podPort},
                  {"protocol", p.protocol}});
  }
  return {{"networks", nets}, {"ports", ps}, {"resolvConf", resolvConf}};
}

NetPlan NetPlan::fromJson(const json::Json& j, const std::string& what) {
  NetPlan plan;
  const auto& o = json::asObject(j, what);
  const auto& nets = json::asArray(o.at("networks"), what + ".networks");
  for (size_t i = 0; i < nets.size(); ++i) {
    std::string p = json::index(what + ".networks", i);
    const auto& n = json::asObject(nets[i], p);
    PlannedNetwork pn;
    pn.name = json::asString(n.at("name"), p + ".name");
    pn.ifName = json::asString(n.at("ifName"), p + ".ifName");
    for (const auto& a : json::asArray(n.at("args"), p + ".args")) {
      pn.args.emplace_back(json::asString(a.at(0), p + ".args"),
                           json::asString(a.at(1), p + ".args"));
    }
    pn.config = n.at("config");
    validateList(pn.config, p + ".config");
    plan.networks.push_back(std::move(pn));
  }
  if (o.contains("ports")) {
    for (const auto& pj : json::asArray(o["ports"], what + ".ports")) {
      PortRequest pr;
      pr.name = json::asString(pj.at("name"), what + ".ports");
      pr.hostIp = json::asString(pj.at("hostIP"), what + ".ports");
      pr.hostPort =
          static_cast<uint16_t>(json::asInt(pj.at("hostPort"), what + ".ports", 1, 65535));
      pr.podPort =
          static_cast<uint16_t>(json::asInt(pj.at("containerPort"), what + ".ports", 1, 65535));
      pr.protocol = json::asString(pj.at("protocol"), what + ".ports");
      plan.ports.push_back(pr);
    }
  }
  if (o.contains("resolvConf"))
    plan.resolvConf = json::asBool(o["resolvConf"], what + ".resolvConf");
  return plan;
}

std::optional<json::Json> NetPlan::declaredDns() const {
  for (const auto& n : networks) {
    for (const auto& p : n.config["plugins"]) {
      auto d = p.find("dns");
      if (d != p.end() && d->is_object() && d->contains("nameservers") &&
          (*d)["nameservers"].is_array() && !(*d)["nameservers"].empty()) {
        return *d;
      }
    }
  }
  return std::nullopt;
}

std::vector<fs::path> configDirs(const fs::path& dataDir,
                                 const std::vector<fs::path>& configNetDirs) {
  const char* env = std::getenv("FERRY_NET_CONFIG_DIR");  // tests: instead of the configuration's
  std::vector<fs::path> dirs{dataDir / "net.d"};
  if (env != nullptr && *env != '\0') {
    dirs.emplace_back(env);
  } else if (configNetDirs.empty()) {
    dirs.emplace_back(kSystemConfigDir);
  } else {
    dirs.insert(dirs.end(), configNetDirs.begin(), configNetDirs.end());
  }
  return dirs;
}

NetPlan planNetworks(const NetSpec& spec, const std::vector<PortRequest>& ports,
                     const fs::path& dataDir, const std::vector<fs::path>& configNetDirs) {
  const std::vector<fs::path> dirs = configDirs(dataDir, configNetDirs);
  NetPlan plan;
  if (spec.mode != NetSpec::Mode::kCni) {
    if (!ports.empty()) {
      throw Error(Errc::kUsage, "--port and --publish need a pod network (--net=" + spec.text() +
                                    " has none to forward to)");
    }
    return plan;
  }
  Catalog cat = readCatalog(dirs);
  std::vector<NetworkRef> refs = spec.networks;
  if (spec.all) {
    if (!cat.unusable.empty()) throw Error(Errc::kInvalid, cat.unusable.front());
    auto have = [&](const std::string& n) {
      return std::any_of(refs.begin(), refs.end(), [&](const auto& r) { return r.name == n; });
    };
    if (!have("default")) refs.insert(refs.begin(), NetworkRef{"default", {}});
    for (const auto& [name, f] : cat.byName) {
      if (!have(name)) refs.push_back(NetworkRef{name, {}});
    }
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    PlannedNetwork pn;
    pn.name = refs[i].name;
    pn.ifName = "eth" + std::to_string(i);
    pn.args = refs[i].args;
    std::string what;
    auto it = cat.byName.find(pn.name);
    if (it != cat.byName.end()) {
      pn.config = it->second.list;
      what = quote(it->second.file);
    } else if (pn.name == "default" || pn.name == "default-restricted") {
      pn.config = builtin(pn.name);
      what = "ferry's " + pn.name;
    } else {
      std::string msg = "no network " + quote(pn.name) + " in ";
      for (size_t d = 0; d < dirs.size(); ++d) {
        msg += (d == 0 ? "" : d + 1 == dirs.size() ? " or " : ", ") + quote(dirs[d].string());
      }
      if (!cat.unusable.empty()) msg += " (" + cat.unusable.front() + ")";
      throw Error(Errc::kNotFound, msg);
    }
    validateList(pn.config, what);
    plan.networks.push_back(std::move(pn));
  }
  if (!ports.empty()) {
    bool any = false;
    for (auto& n : plan.networks) {
      bool ferrys = n.config.value("name", "") == n.name &&
                    (n.name == "default" || n.name == "default-restricted") &&
                    cat.byName.find(n.name) == cat.byName.end();
      if (ferrys) {
        n.config["plugins"].push_back(
            {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}});
        validateList(n.config, "ferry's " + n.name);
      }
      for (const auto& p : n.config["plugins"]) {
        auto caps = p.find("capabilities");
        if (caps != p.end() && caps->is_object() && caps->value("portMappings", false)) any = true;
      }
    }
    if (!any) {
      throw Error(Errc::kUsage,
                  "--port and --publish need a network with the portMappings capability "
                  "(a portmap plugin); " +
                      spec.text() + " has none");
    }
    plan.ports = ports;
  }
  return plan;
}

}  // namespace ferry::net
