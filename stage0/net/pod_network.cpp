#include "stage0/net/pod_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/own_file.hpp"
#include "stage0/net/cni.hpp"

namespace ferry::net {

namespace fs = std::filesystem;

namespace {

fs::path planFile(const fs::path& podDir) { return podDir / "net" / "networks.json"; }
fs::path resultFile(const fs::path& podDir, const std::string& ifName) {
  return podDir / "net" / (ifName + ".json");
}
fs::path addingFile(const fs::path& podDir, const std::string& ifName) {
  return podDir / "net" / (ifName + ".adding");
}
fs::path guardsFile(const fs::path& podDir) { return podDir / "net" / "guards.json"; }

bool present(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool isNetns(const fs::path& p) {
  struct statfs sf {};
  return ::statfs(p.c_str(), &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

void debugLine(bool debug, const std::string& line) {
  static const auto start = std::chrono::steady_clock::now();
  if (!debug) return;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "ferry net: [%7.2f ms] %s\n", ms, line.c_str());
}

// Runs a command (iptables) with a plain environment; its exit status, its output in `out`.
int runTool(const std::vector<std::string>& args, std::string* out = nullptr) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("create a pipe");
  UniqueFd r(p[0]), w(p[1]);
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path, nullptr};
  pid_t pid = ::fork();
  if (pid < 0) throwErrno("fork for " + args[0]);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(w.get(), 1);
    ::dup2(devnull, 2);
    ::close_range(3, ~0U, 0);
    ::execvpe(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  w.reset();
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throwErrno("wait for " + args[0]);
  }
  if (out != nullptr) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> guardRule(const std::string& op, const std::string& ifName,
                                   const std::string& uuid) {
  return {"iptables", "-w",          "-t", "raw",     op,          "PREROUTING",    "-i", ifName,
          "-d",       "127.0.0.0/8", "-m", "comment", "--comment", "ferry:" + uuid, "-j", "DROP"};
}

// The pod's network namespace, bind-mounted at `file` (which must not exist), loopback up.
void createNetns(const fs::path& file) {
  UniqueFd own = openFile("/proc/thread-self/ns/net", O_RDONLY);
  { UniqueFd f = openFile(file, O_WRONLY | O_CREAT | O_EXCL, 0600); }
  if (::unshare(CLONE_NEWNET) != 0) {
    int e = errno;
    ::unlink(file.c_str());
    throwErrno(e, "create the pod's network namespace");
  }
  int err = 0;
  std::string what;
  if (::mount("/proc/thread-self/ns/net", file.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    err = errno;
    what = "bind-mount the pod's network namespace at " + quote(file.string());
  } else {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
      err = errno;
      what = "read the flags of the pod's lo";
    } else {
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
      if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
        err = errno;
        what = "bring the pod's lo up";
      }
    }
    if (s >= 0) ::close(s);
  }
  if (::setns(own.get(), CLONE_NEWNET) != 0) {
    // This process cannot go on in the pod's namespace.
    std::fprintf(stderr, "ferry: cannot return to the host's network namespace: %s\n",
                 std::strerror(errno));
    ::_exit(254);
  }
  if (err != 0) {
    ::umount2(file.c_str(), MNT_DETACH);
    ::unlink(file.c_str());
    throwErrno(err, what);
  }
}

void removeNetns(const fs::path& file) {
  if (isNetns(file) && ::umount2(file.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    throwErrno("unmount the pod's network namespace " + quote(file.string()));
  }
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    throwErrno("remove " + quote(file.string()));
  }
}

json::Json portMappings(const NetPlan& plan) {
  json::Json out = json::Json::array();
  for (const auto& p : plan.ports) {
    json::Json m = {
        {"hostPort", p.hostPort}, {"containerPort", p.podPort}, {"protocol", p.protocol}};
    if (!p.hostIp.empty()) m["hostIP"] = p.hostIp;
    out.push_back(m);
  }
  return out;
}

Attachment attachment(const std::string& uuid, const fs::path& netns, const PlannedNetwork& n,
                      const NetPlan& plan) {
  Attachment a;
  a.containerId = uuid;
  a.netns = netns.string();
  a.ifName = n.ifName;
  a.args = n.args;
  if (!plan.ports.empty()) a.runtimeConfig["portMappings"] = portMappings(plan);
  return a;
}

// The host ports already forwarded by any CNI portmap on this machine (its DNAT chain).
std::set<std::string> forwardedPorts() {
  std::set<std::string> out;
  std::string text;
  if (runTool({"iptables", "-w", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT"}, &text) != 0) return out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w, proto, ports;
    while (words >> w) {
      if (w == "-p") words >> proto;
      if (w == "--dports" || w == "--dport") words >> ports;
    }
    if (proto.empty() || ports.empty()) continue;
    std::stringstream ps(ports);
    std::string one;
    while (std::getline(ps, one, ',')) out.insert(proto + "/" + one);
  }
  return out;
}

// A host port is refused before the pod starts when a socket holds it or another pod forwards
// it already.
void checkPortsFree(const NetPlan& plan) {
  std::set<std::string> forwarded;
  bool read = false;
  for (const auto& p : plan.ports) {
    std::string what = p.protocol + " port " + std::to_string(p.hostPort);
    bool v6 = p.hostIp.find(':') != std::string::npos;
    UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET,
                        (p.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    if (!s) throwErrno("create a socket");
    int one = 1;
    if (p.protocol == "tcp") ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (v6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(p.hostPort);
      if (::inet_pton(AF_INET6, p.hostIp.c_str(), &a.sin6_addr) != 1) {
        throw Error(Errc::kUsage, "not an IPv6 address: " + quote(p.hostIp));
      }
      rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(p.hostPort);
      if (p.hostIp.empty()) {
        a.sin_addr.s_addr = htonl(INADDR_ANY);
      } else if (::inet_pton(AF_INET, p.hostIp.c_str(), &a.sin_addr) != 1) {
        throw Error(Errc::kUsage, "not an IPv4 address: " + quote(p.hostIp));
      }
      rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0 && errno == EADDRINUSE) {
      throw Error(Errc::kInvalid, "cannot publish " + what + ": the host uses it already");
    }
    if (rc != 0 && errno != EADDRNOTAVAIL) throwErrno("check that " + what + " is free");
    if (!read) {
      forwarded = forwardedPorts();
      read = true;
    }
    if (forwarded.contains(p.protocol + "/" + std::to_string(p.hostPort))) {
      throw Error(Errc::kInvalid, "cannot publish " + what + ": another pod forwards it already");
    }
  }
}

std::string resolvConfText(const json::Json& dns) {
  std::string out = "# Generated by ferry from the pod's network\n";
  auto words = [&](const char* key, const char* line) {
    if (!dns.contains(key) || !dns[key].is_array() || dns[key].empty()) return;
    std::string l = line;
    for (const auto& w : dns[key]) {
      if (w.is_string()) l += " " + w.get<std::string>();
    }
    out += l + "\n";
  };
  if (dns.contains("domain") && dns["domain"].is_string()) {
    out += "domain " + dns["domain"].get<std::string>() + "\n";
  }
  words("search", "search");
  if (dns.contains("nameservers") && dns["nameservers"].is_array()) {
    for (const auto& n : dns["nameservers"]) {
      if (n.is_string()) out += "nameserver " + n.get<std::string>() + "\n";
    }
  }
  words("options", "options");
  for (char& c : out) {
    if (c == '\r') c = ' ';
  }
  return out;
}

// An exclusive lock on a machine-wide file while ports are checked and forwarded, so that two
// pods starting at once cannot both take one.
UniqueFd portsLock() {
  makeDirs("/run/ferry", 0755);
  UniqueFd fd = openFile("/run/ferry/ports.lock", O_RDWR | O_CREAT, 0600);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throwErrno("lock /run/ferry/ports.lock");
  }
  return fd;
}

// The routable IPv6 addresses of the host's interfaces IFS still in duplicate address detection
// (/proc/net/if_inet6: address, index, prefix length, scope, flags, name; IFA_F_TENTATIVE 0x40,
// IFA_F_DADFAILED 0x08, which stays tentative for good). Link-local addresses are left out: every
// new link has one in detection, and a pod's routes go through its gateway's routable address.
int tentativeAddresses(const std::vector<std::string>& ifs) {
  FILE* f = std::fopen("/proc/net/if_inet6", "re");
  if (f == nullptr) return 0;  // no IPv6 on this host
  int n = 0;
  char addr[40], name[IF_NAMESIZE + 1];
  unsigned index, prefix, scope, flags;
  while (std::fscanf(f, "%39s %x %x %x %x %16s", addr, &index, &prefix, &scope, &flags, name) ==
         6) {
    bool ours = std::find(ifs.begin(), ifs.end(), name) != ifs.end();
    bool linkOrHost = scope == 0x20 || scope == 0x10;  // IPV6_ADDR_LINKLOCAL, _LOOPBACK
    if (ours && !linkOrHost && (flags & 0x40) != 0 && (flags & 0x08) == 0) ++n;
  }
  std::fclose(f);
  return n;
}

// A CNI plugin gives the host's end of a pod's link an IPv6 address (ptp's gateway, a bridge's)
// that stays tentative for about a second of duplicate address detection; the pod's packets to
// its gateway go unanswered meanwhile (its first connection stalls a second or more). The
// network is ready when the host's end is: wait for it, up to 5 s.
void waitForHostAddresses(const std::vector<std::string>& ifs, bool debug) {
  auto start = std::chrono::steady_clock::now();
  int left = tentativeAddresses(ifs);
  if (left == 0) return;
  while (left > 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    ::usleep(20000);
    left = tentativeAddresses(ifs);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  debugLine(debug, left == 0 ? "host-side IPv6 addresses ready after " + std::to_string(ms) + " ms"
                             : std::to_string(left) +
                                   " host-side IPv6 addresses still tentative after 5 s");
}

}  // namespace

std::string resolvConfFromDns(const json::Json& dns) { return resolvConfText(dns); }

// stage0's own plan only: a pod's root that made net/ in its pod directory (--private-users,
// whose pods have no networks) gets no CNI plugin run for its files.
bool hasNetworks(const fs::path& podDir) { return isOwnFile(planFile(podDir)); }

fs::path netnsPath(const fs::path& podDir) { return podDir / "netns"; }

void writePlan(const fs::path& podDir, const NetPlan& plan, Sync sync) {
  if (::mkdir((podDir / "net").c_str(), 0700) != 0 && errno != EEXIST) {
    throwErrno("create " + quote((podDir / "net").string()));
  }
  writeFileAtomic(planFile(podDir), json::dump(plan.toJson(), true) + "\n", 0600, sync);
}

NetPlan readPlan(const fs::path& podDir) {
  fs::path f = planFile(podDir);
  std::optional<std::string> text = readOwnFile(f, 16 << 20);
  if (!text) throw Error(Errc::kNotFound, "cannot read " + quote(f.string()) + ": no plan of ours");
  return NetPlan::fromJson(json::parse(*text, f.string()), f.string());
}

void setUp(const fs::path& podDir, const std::string& uuid, bool debug) {
  NetPlan plan = readPlan(podDir);
  fs::path ns = netnsPath(podDir);
  UniqueFd lock;
  try {
    if (!plan.ports.empty()) {
      lock = portsLock();
      checkPortsFree(plan);
    }
    createNetns(ns);
    debugLine(debug, "network namespace created at " + quote(ns.string()));
    std::vector<std::string> hostIfs;
    std::optional<json::Json> dns;
    for (const auto& n : plan.networks) {
      writeFileAtomic(addingFile(podDir, n.ifName), "", 0600, Sync::kAtomic);
      json::Json result = add(n.config, attachment(uuid, ns, n, plan));
      writeFileAtomic(resultFile(podDir, n.ifName), json::dump(result, true) + "\n", 0600,
                      Sync::kAtomic);
      for (auto& h : hostInterfaces(result)) hostIfs.push_back(h);
      if (!dns && result.contains("dns") && result["dns"].is_object() &&
          result["dns"].contains("nameservers") && !result["dns"]["nameservers"].empty()) {
        dns = result["dns"];
      }
      debugLine(debug, "network " + n.name + " added on " + n.ifName);
    }
    if (!hostIfs.empty()) {
      writeFileAtomic(guardsFile(podDir), json::dump(json::Json(hostIfs)) + "\n", 0600,
                      Sync::kAtomic);
      for (const auto& h : hostIfs) {
        if (runTool(guardRule("-I", h, uuid)) != 0) {
          throw Error(Errc::kIo, "cannot guard the host's loopback from interface " + quote(h) +
                                     ": iptables failed");
        }
      }
      debugLine(debug, "loopback guards in place");
      waitForHostAddresses(hostIfs, debug);
    }
    if (plan.resolvConf && dns) {
      if (::mkdir((podDir / "etc").c_str(), 0700) != 0 && errno != EEXIST) {
        throwErrno("create " + quote((podDir / "etc").string()));
      }
      writeFileAtomic(podDir / "etc" / "resolv.conf", resolvConfText(*dns), 0644, Sync::kAtomic);
    }
  } catch (...) {
    try {
      tearDown(podDir, uuid);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ferry: %s\n", e.what());
    }
    throw;
  }
}

void tearDown(const fs::path& podDir, const std::string& uuid) {
  if (!hasNetworks(podDir)) return;
  NetPlan plan = readPlan(podDir);
  fs::path ns = netnsPath(podDir);
  fs::path nsArg = isNetns(ns) ? ns : fs::path();
  std::string first;
  for (size_t i = plan.networks.size(); i-- > 0;) {
    const auto& n = plan.networks[i];
    fs::path res = resultFile(podDir, n.ifName);
    fs::path adding = addingFile(podDir, n.ifName);
    if (!present(res) && !present(adding)) continue;
    json::Json cached(nullptr);
    try {
      if (auto text = readOwnFile(res, 16 << 20)) cached = json::parse(*text, res.string());
    } catch (const std::exception&) {
    }
    try {
      del(n.config, attachment(uuid, nsArg, n, plan), cached);
      ::unlink(res.c_str());
      ::unlink(adding.c_str());
    } catch (const std::exception& e) {
      if (first.empty()) first = e.what();
    }
  }
  if (auto guards = readOwnFile(guardsFile(podDir), 1 << 20)) {
    json::Json ifs = json::parse(*guards, guardsFile(podDir).string());
    if (ifs.is_array()) {
      for (const auto& h : ifs) {
        if (!h.is_string()) continue;
        // Until iptables says there is no such rule (each was inserted once).
        while (runTool(guardRule("-D", h.get<std::string>(), uuid)) == 0) {
        }
      }
    }
    ::unlink(guardsFile(podDir).c_str());
  }
  // The interfaces are still in the namespace while a DEL failed: keep it for the next try.
  if (!first.empty()) throw Error(Errc::kIo, first);
  removeNetns(ns);
}

void check(const fs::path& podDir, const std::string& uuid) {
  NetPlan plan = readPlan(podDir);
  fs::path ns = netnsPath(podDir);
  for (const auto& n : plan.networks) {
    fs::path res = resultFile(podDir, n.ifName);
    if (!present(res)) {
      throw Error(Errc::kInvalid, "network " + quote(n.name) + " is not attached");
    }
    auto text = readOwnFile(res, 16 << 20);
    if (!text) throw Error(Errc::kInvalid, "network " + quote(n.name) + " is not attached");
    json::Json cached = json::parse(*text, res.string());
    net::check(n.config, attachment(uuid, ns, n, plan), cached);
  }
}

std::vector<NetworkStatus> networkStatus(const fs::path& podDir) {
  std::vector<NetworkStatus> out;
  if (!hasNetworks(podDir)) return out;
  NetPlan plan = readPlan(podDir);
  for (const auto& n : plan.networks) {
    NetworkStatus s{n.name, n.ifName, {}};
    fs::path res = resultFile(podDir, n.ifName);
    try {
      if (auto text = readOwnFile(res, 16 << 20)) {
        s.addresses = resultAddresses(json::parse(*text, res.string()));
      }
    } catch (const std::exception&) {
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ferry::net
