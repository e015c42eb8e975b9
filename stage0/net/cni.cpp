#include "stage0/net/cni.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::net {

namespace fs = std::filesystem;

namespace {

bool validType(const std::string& t) {
  if (t.empty() || t[0] == '.' || t.size() > 255) return false;
  for (char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::string versionOf(const json::Json& list) {
  auto it = list.find("cniVersion");
  return it != list.end() && it->is_string() ? it->get<std::string>() : "0.1.0";
}

// "0.4.0" → {0, 4, 0}; anything unreadable as 0.
std::vector<int> versionParts(const std::string& v) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t dot = v.find('.', start);
    out.push_back(std::atoi(v.substr(start, dot - start).c_str()));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  out.resize(3, 0);
  return out;
}

bool atLeast(const std::string& v, int major, int minor) {
  auto p = versionParts(v);
  return p[0] > major || (p[0] == major && p[1] >= minor);
}

UniqueFd memfdWith(std::string_view data, const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throwErrno("create a memfd for a CNI plugin");
  writeAll(fd.get(), data.data(), data.size(), "the CNI plugin's input");
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) throwErrno("rewind the CNI plugin's input");
  return fd;
}

std::string readAllFrom(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) throwErrno("rewind the CNI plugin's output");
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("read the CNI plugin's output");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (4u << 20)) throw Error(Errc::kLimit, "a CNI plugin's output exceeds 4 MiB");
  }
}

struct Outcome {
  int status = 0;  // exit status, or 128 + signal
  std::string out, err;
};

// Runs one plugin with its configuration on stdin; its stdout and stderr into memfds (no pipe
// to deadlock on, whatever it writes).
Outcome exec(const fs::path& plugin, const std::string& command, const Attachment& a,
             const std::string& input) {
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + a.containerId, "CNI_NETNS=" + a.netns,
      "CNI_IFNAME=" + a.ifName,
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  std::string args;
  for (const auto& [k, v] : a.args) args += (args.empty() ? "" : ";") + k + "=" + v;
  env.push_back("CNI_ARGS=" + args);
  std::string path;
  for (const auto& d : cniPath()) path += (path.empty() ? "" : ":") + d.string();
  env.push_back("CNI_PATH=" + path);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = plugin.string();
  char* argv[] = {exe.data(), nullptr};
  UniqueFd in = memfdWith(input, "cni-stdin");
  UniqueFd out = memfdWith("", "cni-stdout");
  UniqueFd err = memfdWith("", "cni-stderr");
  pid_t pid = ::fork();
  if (pid < 0) throwErrno("fork for the CNI plugin " + quote(exe));
  if (pid == 0) {
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) {
      ::_exit(127);
    }
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throwErrno("wait for the CNI plugin " + quote(exe));
  }
  Outcome o;
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = readAllFrom(out.get());
  o.err = readAllFrom(err.get());
  return o;
}

std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > 400) s = s.substr(0, 400) + "…";
  return s;
}

// The plugin's error: its error object's msg and details, else its stderr.
std::string failureText(const Outcome& o) {
  try {
    json::Json j = json::parse(o.out, "the plugin's output");
    if (j.is_object() && j.contains("msg") && j["msg"].is_string()) {
      std::string msg = j["msg"].get<std::string>();
      if (j.contains("details") && j["details"].is_string() &&
          !j["details"].get<std::string>().empty()) {
        msg += ": " + j["details"].get<std::string>();
      }
      return oneLine(msg);
    }
  } catch (const std::exception&) {
  }
  std::string e = oneLine(o.err.empty() ? o.out : o.err);
  return e.empty() ? "exit status " + std::to_string(o.status) : e;
}

// The configuration one plugin of the list gets on stdin.
json::Json pluginInput(const json::Json& list, const json::Json& plugin, const Attachment& a,
                       const json::Json* prevResult) {
  json::Json c = plugin;
  c["name"] = list["name"];
  c["cniVersion"] = versionOf(list);
  if (prevResult != nullptr && !prevResult->is_null()) c["prevResult"] = *prevResult;
  if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    json::Json rc = json::Json::object();
    for (const auto& [k, v] : caps->items()) {
      if (v.is_boolean() && v.get<bool>() && a.runtimeConfig.contains(k)) {
        rc[k] = a.runtimeConfig[k];
      }
    }
    if (!rc.empty()) c["runtimeConfig"] = rc;
  }
  return c;
}

std::string networkName(const json::Json& list) {
  auto it = list.find("name");
  return it != list.end() && it->is_string() ? it->get<std::string>() : "?";
}

}  // namespace

std::vector<fs::path> cniPath() {
  std::vector<fs::path> out;
  const char* env = std::getenv("FERRY_CNI_PATH");
  std::string text = env != nullptr && *env != '\0' ? env : "/usr/lib/cni:/opt/cni/bin";
  size_t start = 0;
  while (start <= text.size()) {
    size_t c = text.find(':', start);
    std::string d = text.substr(start, c - start);
    if (!d.empty() && d[0] == '/') out.emplace_back(d);
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

fs::path findPlugin(const std::string& type) {
  if (!validType(type)) {
    throw Error(Errc::kInvalid, "CNI plugin type " + quote(type) + " is not a plain name");
  }
  std::string searched;
  for (const auto& d : cniPath()) {
    fs::path p = d / type;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) return p;
    searched += (searched.empty() ? "" : ":") + d.string();
  }
  throw Error(Errc::kNotFound, "no CNI plugin " + quote(type) + " in " + searched);
}

json::Json add(const json::Json& list, const Attachment& a) {
  json::Json prev(nullptr);
  for (const auto& plugin : list["plugins"]) {
    std::string type = plugin["type"].get<std::string>();
    json::Json in = pluginInput(list, plugin, a, &prev);
    Outcome o = exec(findPlugin(type), "ADD", a, json::dump(in));
    std::string where = "network " + quote(networkName(list)) + " (plugin " + type + ")";
    if (o.status != 0) {
      throw Error(Errc::kIo, "cannot attach the pod to " + where + ": " + failureText(o));
    }
    try {
      prev = json::parse(o.out, "result");
    } catch (const std::exception& e) {
      throw Error(Errc::kInvalid, "cannot attach the pod to " + where + ": " +
                                      "the plugin answered no JSON result: " + e.what());
    }
    if (!prev.is_object()) {
      throw Error(Errc::kInvalid,
                  "cannot attach the pod to " + where + ": the plugin's result is not an object");
    }
  }
  return prev;
}

void del(const json::Json& list, const Attachment& a, const json::Json& cached) {
  const auto& plugins = list["plugins"];
  std::string first;
  bool withPrev = atLeast(versionOf(list), 0, 4);
  for (size_t i = plugins.size(); i-- > 0;) {
    const auto& plugin = plugins[i];
    std::string type = plugin["type"].get<std::string>();
    try {
      json::Json in = pluginInput(list, plugin, a, withPrev ? &cached : nullptr);
      Outcome o = exec(findPlugin(type), "DEL", a, json::dump(in));
      if (o.status != 0 && first.empty()) {
        first = "cannot detach the pod from network " + quote(networkName(list)) + " (plugin " +
                type + "): " + failureText(o);
      }
    } catch (const std::exception& e) {
      if (first.empty()) {
        first = "cannot detach the pod from network " + quote(networkName(list)) + ": " + e.what();
      }
    }
  }
  if (!first.empty()) throw Error(Errc::kIo, first);
}

void check(const json::Json& list, const Attachment& a, const json::Json& cached) {
  if (!atLeast(versionOf(list), 0, 4)) return;
  for (const auto& plugin : list["plugins"]) {
    std::string type = plugin["type"].get<std::string>();
    json::Json in = pluginInput(list, plugin, a, &cached);
    Outcome o = exec(findPlugin(type), "CHECK", a, json::dump(in));
    if (o.status != 0) {
      throw Error(Errc::kIo, "network " + quote(networkName(list)) + " (plugin " + type +
                                 ") fails its check: " + failureText(o));
    }
  }
}

json::Json listOfConf(const json::Json& conf) {
  json::Json list = json::Json::object();
  if (conf.is_object()) {
    if (conf.contains("cniVersion")) list["cniVersion"] = conf["cniVersion"];
    if (conf.contains("name")) list["name"] = conf["name"];
    json::Json plugin = conf;
    plugin.erase("name");
    plugin.erase("cniVersion");
    list["plugins"] = json::Json::array({plugin});
  }
  return list;
}

void validateList(const json::Json& list, const std::string& what) {
  auto bad = [&](const std::string& why) {
    throw Error(Errc::kInvalid, "cannot use the network configuration " + what + ": " + why);
  };
  if (!list.is_object()) bad("not a JSON object");
  if (!list.contains("name") || !list["name"].is_string() ||
      list["name"].get<std::string>().empty()) {
    bad("no \"name\"");
  }
  if (!list.contains("cniVersion") || !list["cniVersion"].is_string()) bad("no \"cniVersion\"");
  if (!list.contains("plugins") || !list["plugins"].is_array() || list["plugins"].empty()) {
    bad("no plugins (\"type\" or \"plugins\")");
  }
  for (const auto& p : list["plugins"]) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      bad("a plugin without a \"type\"");
    }
    try {
      findPlugin(p["type"].get<std::string>());
      if (auto ipam = p.find("ipam"); ipam != p.end() && ipam->is_object()) {
        if (ipam->contains("type") && (*ipam)["type"].is_string()) {
          findPlugin((*ipam)["type"].get<std::string>());
        }
      }
    } catch (const Error& e) {
      bad(e.what());
    }
  }
}

std::vector<std::string> resultAddresses(const json::Json& result) {
  std::vector<std::string> out;
  if (!result.is_object()) return out;
  if (auto ips = result.find("ips"); ips != result.end() && ips->is_array()) {
    for (const auto& ip : *ips) {
      if (ip.is_object() && ip.contains("address") && ip["address"].is_string()) {
        out.push_back(ip["address"].get<std::string>());
      }
    }
  }
  for (const char* k : {"ip4", "ip6"}) {
    if (auto ip = result.find(k); ip != result.end() && ip->is_object()) {
      if (ip->contains("ip") && (*ip)["ip"].is_string())
        out.push_back((*ip)["ip"].get<std::string>());
    }
  }
  return out;
}

std::vector<std::string> hostInterfaces(const json::Json& result) {
  std::vector<std::string> out;
  if (!result.is_object()) return out;
  if (auto ifs = result.find("interfaces"); ifs != result.end() && ifs->is_array()) {
    for (const auto& i : *ifs) {
      if (!i.is_object() || !i.contains("name") || !i["name"].is_string()) continue;
      bool inPod = i.contains("sandbox") && i["sandbox"].is_string() &&
                   !i["sandbox"].get<std::string>().empty();
      if (!inPod) out.push_back(i["name"].get<std::string>());
    }
  }
  return out;
}

}  // namespace ferry::net
