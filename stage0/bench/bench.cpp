#include "stage0/bench/bench.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage0/pod/stage1.hpp"
#include "stage1/common/status.hpp"

extern char** environ;

namespace ferry::bench {

namespace fs = std::filesystem;

std::vector<std::string> installedStage1s() {
  std::set<std::string> names;
  for (const auto& d : pod::Stage1::searchDirs()) {
    std::error_code ec;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
      if (fs::is_regular_file(it->path() / "stage1.json", ec)) {
        names.insert(it->path().filename().string());
      }
    }
  }
  return {names.begin(), names.end()};
}

std::optional<fs::path> findProbe(std::string* looked) {
  std::error_code ec;
  fs::path bin = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const char* sub : {"libexec", "lib"}) {
    fs::path p = (bin / ".." / sub / "ferry" / "ferry-bench-probe").lexically_normal();
    if (::access(p.c_str(), X_OK) == 0) return p;
    if (looked) *looked += (looked->empty() ? "" : ", ") + quote(p.string());
  }
  return std::nullopt;
}

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A child with stdin /dev/null and stdout, stderr on pipes.
struct Child {
  pid_t pid = -1;
  UniqueFd out, err;
};

Child spawn(const std::vector<std::string>& args) {
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) throwErrno("make a pipe");
  UniqueFd outR(outPipe[0]), outW(outPipe[1]);
  if (::pipe2(errPipe, O_CLOEXEC) != 0) throwErrno("make a pipe");
  UniqueFd errR(errPipe[0]), errW(errPipe[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, outW.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  Child c;
  int rc = ::posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    throwErrno("start " + quote(args[0]));
  }
  c.out = std::move(outR);
  c.err = std::move(errR);
  return c;
}

int waitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throwErrno("wait for a pod");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string readSmall(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The processes of pid's tree (pid included), from /proc/PID/task/TID/children.
std::vector<pid_t> tree(pid_t root) {
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); ++i) {
    std::error_code ec;
    fs::path tasks = "/proc/" + std::to_string(out[i]) + "/task";
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
      std::istringstream kids(readSmall(it->path() / "children"));
      pid_t k;
      while (kids >> k) out.push_back(k);
    }
  }
  return out;
}

pid_t parentOf(pid_t p) {
  std::string s = readSmall("/proc/" + std::to_string(p) + "/stat");
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  char state;
  pid_t ppid = 0;
  in >> state >> ppid;
  return ppid;
}

// The innermost PID of p (the last NSpid field) and its PID namespace's inode.
std::pair<long, ino_t> nsPid(pid_t p) {
  std::istringstream in(readSmall("/proc/" + std::to_string(p) + "/status"));
  std::string line;
  long inner = -1;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) == 0) {
      std::istringstream f(line.substr(6));
      long v;
      while (f >> v) inner = v;
    }
  }
  struct stat st;
  ino_t ino = ::stat(("/proc/" + std::to_string(p) + "/ns/pid").c_str(), &st) == 0 ? st.st_ino : 0;
  return {inner, ino};
}

int64_t pssKiB(pid_t p) {
  std::istringstream in(readSmall("/proc/" + std::to_string(p) + "/smaps_rollup"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0) return std::atoll(line.c_str() + 4);
  }
  return 0;
}

// The supervision of a running pod: the run's tree minus the apps (see bench.hpp).
struct Sample {
  int64_t kib = 0;
  int processes = 0;
};
std::optional<Sample> sampleSupervision(pid_t root, const fs::path& podDir) {
  std::set<long> appPids;
  std::error_code ec;
  for (fs::directory_iterator it(podDir / "status", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".json")) continue;
    try {
      // readAppStatus: a regular file only, never through a symlink (a kvm guest writes status/).
      auto st = stage1::readAppStatus(podDir, name.substr(0, name.size() - 5));
      if (st && st->pid) appPids.insert(static_cast<long>(*st->pid));
    } catch (const std::exception&) {
      // Being rewritten: the next sample reads it.
    }
  }
  std::string podPid = readSmall(podDir / "pid");
  if (podPid.empty()) return std::nullopt;  // not running yet
  ino_t podNs = nsPid(std::atoi(podPid.c_str())).second;
  std::vector<pid_t> procs = tree(root);
  std::set<pid_t> apps;
  for (pid_t p : procs) {
    auto [inner, ns] = nsPid(p);
    if (ns == podNs && appPids.contains(inner)) apps.insert(p);
  }
  Sample s;
  for (pid_t p : procs) {
    bool app = false;
    for (pid_t q = p; q > 1 && q != root; q = parentOf(q)) {
      if (apps.contains(q)) {
        app = true;
        break;
      }
    }
    if (app) continue;
    s.kib += pssKiB(p);
    s.processes++;
  }
  return s;
}

struct Outcome {
  Run run;
  std::string out, err, uuid;
};

// One `ferry run`; the pod is removed after.
Outcome runPod(const Options& o, const std::vector<std::string>& runArgs, bool sample) {
  fs::path self = fs::read_symlink("/proc/self/exe");
  char tmpl[] = "/tmp/ferry-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throwErrno("make a temporary directory");
  fs::path tmp = tmpl;
  fs::path uuidFile = tmp / "uuid";
  std::vector<std::string> args = {self.string()};
  args.insert(args.end(), o.globalArgs.begin(), o.globalArgs.end());
  args.push_back("run");
  args.push_back("--uuid-file-save=" + uuidFile.string());
  args.insert(args.end(), runArgs.begin(), runArgs.end());

  Outcome r;
  std::string dataDir = "/var/lib/ferry";
  for (size_t i = 0; i + 1 < o.globalArgs.size(); ++i) {
    if (o.globalArgs[i] == "--dir") dataDir = o.globalArgs[i + 1];
  }
  auto t0 = Clock::now();
  Child c = spawn(args);
  pollfd fds[2] = {{c.out.get(), POLLIN, 0}, {c.err.get(), POLLIN, 0}};
  int open = 2;
  fs::path podDir;
  while (open > 0) {
    int n = ::poll(fds, 2, 20);
    if (n < 0 && errno != EINTR) throwErrno("wait for a pod's output");
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      if (i == 0 && !r.run.firstOutputMs) r.run.firstOutputMs = msSince(t0);
      (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
    }
    if (!sample) continue;
    if (podDir.empty()) {
      std::string u = readSmall(uuidFile);
      if (!u.empty() && u.back() == '\n')
        podDir = fs::path(dataDir) / "pods" / "run" / u.substr(0, u.size() - 1);
    }
    if (!podDir.empty()) {
      if (auto s = sampleSupervision(c.pid, podDir)) {
        if (!r.run.supervisionKiB || s->kib > *r.run.supervisionKiB) {
          r.run.supervisionKiB = s->kib;
          r.run.supervisionProcesses = s->processes;
        }
      }
    }
  }
  r.run.exitStatus = waitFor(c.pid);
  r.run.totalMs = msSince(t0);
  r.uuid = readSmall(uuidFile);
  if (!r.uuid.empty() && r.uuid.back() == '\n') r.uuid.pop_back();
  fs::remove_all(tmp);
  if (!r.uuid.empty()) {
    std::vector<std::string> rm = {self.string()};
    rm.insert(rm.end(), o.globalArgs.begin(), o.globalArgs.end());
    rm.push_back("rm");
    rm.push_back(r.uuid);
    Child c2 = spawn(rm);
    c2.out.reset();
    c2.err.reset();
    waitFor(c2.pid);
  }
  return r;
}

std::string firstLine(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  return l.empty() ? "no message" : l;
}

// The probe in a temporary read-only volume (its copy: the pod sees nothing else of ferry's).
struct ProbeDir {
  fs::path dir;
  explicit ProbeDir(const fs::path& probe) {
    char tmpl[] = "/tmp/ferry-bench-probe-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throwErrno("make a temporary directory");
    dir = tmpl;
    ::chmod(tmpl, 0755);
    fs::copy_file(probe, dir / "probe");
    fs::permissions(dir / "probe", fs::perms(0755));
  }
  ~ProbeDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  ProbeDir(const ProbeDir&) = delete;
  ProbeDir& operator=(const ProbeDir&) = delete;
};

std::optional<json::Json> parseProbe(const std::string& out, std::string* error) {
  for (std::istringstream in(out); !in.eof();) {
    std::string line;
    std::getline(in, line);
    auto brace = line.find("{\"ns\"");
    if (brace == std::string::npos) continue;
    try {
      return json::parse(line.substr(brace), "the probe's output");
    } catch (const std::exception& e) {
      *error = e.what();
      return std::nullopt;
    }
  }
  *error = "the probe printed nothing";
  return std::nullopt;
}

}  // namespace

std::optional<json::Json> hostView(const Options& o, std::string* error) {
  if (o.probe.empty()) {
    *error = o.probeMissing;
    return std::nullopt;
  }
  Child c = spawn({o.probe.string()});
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(c.out.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  c.err.reset();
  waitFor(c.pid);
  return parseProbe(out, error);
}

Stage1Result benchStage1(const Options& o, const std::string& stage1) {
  Stage1Result res;
  res.stage1 = stage1;
  std::vector<std::string> args = {"--stage1-name=" + stage1};
  args.insert(args.end(), o.podArgs.begin(), o.podArgs.end());
  args.insert(args.end(), o.imageArgs.begin(), o.imageArgs.end());
  for (int i = 0; i < o.runs; ++i) {
    Outcome r = runPod(o, args, true);
    if (r.run.exitStatus == 254 && r.uuid.empty()) {
      res.error = firstLine(r.err);
      return res;
    }
    res.runs.push_back(r.run);
  }
  if (o.probe.empty()) {
    res.probeError = o.probeMissing;
    return res;
  }
  ProbeDir pd(o.probe);
  std::vector<std::string> probeArgs = {"--stage1-name=" + stage1};
  probeArgs.insert(probeArgs.end(), o.podArgs.begin(), o.podArgs.end());
  probeArgs.push_back("--volume=ferry-bench-probe,kind=host,readOnly=true,source=" +
                      pd.dir.string());
  probeArgs.push_back(o.imageArgs.front());
  probeArgs.push_back("--mount=volume=ferry-bench-probe,target=/.ferry-bench");
  probeArgs.push_back("--exec=/.ferry-bench/probe");
  Outcome p = runPod(o, probeArgs, false);
  if (p.run.exitStatus != 0) {
    res.probeError = "the probe could not run (exit status " + std::to_string(p.run.exitStatus) +
                     "): " + firstLine(p.err);
    return res;
  }
  std::string error;
  res.probe = parseProbe(p.out, &error);
  if (!res.probe) res.probeError = "the probe's output: " + error;
  return res;
}

namespace {

int capCount(const json::Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return -1;
  return std::popcount(std::strtoull(j[key].get<std::string>().c_str(), nullptr, 16));
}

std::string seccompText(const json::Json& p) {
  if (!p["seccomp"].is_number_integer()) return "unknown";
  int mode = p["seccomp"].get<int>();
  std::string filters = p["seccomp_filters"].is_number_integer()
                            ? std::to_string(p["seccomp_filters"].get<int>())
                            : "?";
  if (mode == 2) return "filter (" + filters + ")";
  return mode == 1 ? "strict" : "off";
}

}  // namespace

json::Json checklistJson(const json::Json& pod, const json::Json& host) {
  json::Json c = json::Json::object();
  bool otherKernel = pod["boot_id"] != host["boot_id"];
  c["separateKernel"] = otherKernel;
  for (const char* ns : {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup"}) {
    std::string key =
        std::string("own") + static_cast<char>(std::toupper(ns[0])) + (ns + 1) + "Namespace";
    c[key] = otherKernel || pod["ns"][ns] != host["ns"][ns];
  }
  c["seccompMode"] = pod["seccomp"];
  c["seccompFilters"] = pod["seccomp_filters"];
  c["noNewPrivs"] = pod["no_new_privs"] == 1;
  c["capabilitiesEffective"] = capCount(pod, "cap_eff");
  c["capabilitiesHost"] = capCount(host, "cap_eff");
  c["sysReadOnly"] = pod["sys_read_only"];
  int present = 0, masked = 0;
  for (const auto& [path, hostMasked] : host["masked"].items()) {
    if (hostMasked.get<bool>()) continue;  // nothing to mask on this host
    ++present;
    if (pod["masked"].contains(path) && pod["masked"][path].get<bool>()) ++masked;
  }
  c["maskedProcPaths"] = masked;
  c["sensitiveProcPaths"] = present;
  c["deviceMem"] = pod["device_mem"];
  c["deviceNodes"] = pod["devices"];
  return c;
}

std::vector<std::pair<std::string, std::string>> checklist(const json::Json& pod,
                                                           const json::Json& host) {
  json::Json c = checklistJson(pod, host);
  auto yn = [](const json::Json& b) {
    return b.is_boolean() ? (b.get<bool>() ? "yes" : "no") : "-";
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* ns : {"Pid", "Net", "Ipc", "Uts", "Mnt", "User", "Cgroup"}) {
    std::string label =
        std::string("own ") + static_cast<char>(std::tolower(ns[0])) + (ns + 1) + " namespace";
    out.emplace_back(label, yn(c[std::string("own") + ns + "Namespace"]));
  }
  out.emplace_back("separate kernel", yn(c["separateKernel"]));
  out.emplace_back("seccomp", seccompText(pod));
  out.emplace_back("no_new_privs", yn(c["noNewPrivs"]));
  out.emplace_back("capabilities (effective)",
                   std::to_string(c["capabilitiesEffective"].get<int>()) + " of host's " +
                       std::to_string(c["capabilitiesHost"].get<int>()));
  out.emplace_back("/sys read-only", c["sysReadOnly"].is_null() ? "no /sys" : yn(c["sysReadOnly"]));
  out.emplace_back("masked /proc paths", std::to_string(c["maskedProcPaths"].get<int>()) + " of " +
                                             std::to_string(c["sensitiveProcPaths"].get<int>()));
  out.emplace_back("/dev/mem (mknod+open)", pod["device_mem"].get<std::string>());
  out.emplace_back("device nodes in /dev", std::to_string(pod["devices"].get<int>()));
  return out;
}

}  // namespace ferry::bench
