#include "stage0/systemd/pod_unit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include "common/cgroup.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/own_file.hpp"
#include "stage0/pod/runtime_options.hpp"
#include "stage0/systemd/machined.hpp"
#include "stage0/systemd/units.hpp"
#include "stage1/common/systemd.hpp"

namespace ferry::systemd {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUnitFile = "unit";

void writePodUnit(const fs::path& podDir, const PodUnit& u) {
  json::Json j = {{"name", u.name},
                  {"bus", std::string(busKindName(u.bus))},
                  {"kind", u.service ? "service" : "scope"}};
  writeFileAtomic(podDir / kUnitFile, json::dump(j) + "\n", 0600);
}

// The pod's limits (runtime.json podResources, OCI linux.resources) as unit properties.
void applyLimits(const fs::path& podDir, TransientUnit& u) {
  pod::RuntimeOptions rt = pod::RuntimeOptions::read(podDir);
  u.timeoutStopUSec = static_cast<uint64_t>(rt.stopTimeoutSeconds + 10) * 1000000;
  if (!rt.podResources || !rt.podResources->is_object()) return;
  const json::Json& r = *rt.podResources;
  if (auto m = r.find("memory"); m != r.end() && m->is_object()) {
    if (auto l = m->find("limit"); l != m->end() && l->is_number_integer() && *l > 0) {
      u.memoryMax = l->get<uint64_t>();
    }
  }
  if (auto c = r.find("cpu"); c != r.end() && c->is_object()) {
    auto q = c->find("quota"), p = c->find("period");
    if (q != c->end() && p != c->end() && q->is_number_integer() && p->is_number_integer() &&
        *q > 0 && *p > 0) {
      u.cpuQuotaPerSecUSec = q->get<uint64_t>() * 1000000 / p->get<uint64_t>();
    }
  }
  if (auto p = r.find("pids"); p != r.end() && p->is_object()) {
    if (auto l = p->find("limit"); l != p->end() && l->is_number_integer() && *l > 0) {
      u.tasksMax = l->get<uint64_t>();
    }
  }
}

// On a cgroup v2 hierarchy with the cpu, memory or pids controller, a cgroup gives them to its
// children only while it holds no process itself (v2's "no internal processes"). This process
// (soon the stage1) sits in the unit's own cgroup, so the stage1 would find it unable to delegate
// and place the pod beside the unit (cgroup::Group::place walks up to the slice): outside the
// unit's limits and cleanup, unknown to machined. As systemd's delegation asks, this process
// moves into a leaf `supervisor` of the unit's cgroup first; the pod's cgroups then go in the
// unit's cgroup itself. Nothing to do on v1 hierarchies (and a hybrid host's unified one holds
// none of those controllers).
void leaveUnitRoot() {
  cgroup::Layout layout = cgroup::Layout::detect();
  for (const cgroup::Hierarchy& h : layout.hierarchies()) {
    if (h.version != cgroup::Version::kV2) continue;
    std::string controllers = readFile(h.mount / "cgroup.controllers", 4096);
    bool limits = false;
    for (const char* c : {"cpu", "memory", "pids"}) {
      for (size_t at = controllers.find(c); at != std::string::npos;
           at = controllers.find(c, at + 1)) {
        size_t end = at + std::string_view(c).size();
        bool word =
            (at == 0 || controllers[at - 1] == ' ') &&
            (end == controllers.size() || controllers[end] == ' ' || controllers[end] == '\n');
        limits = limits || word;
      }
    }
    if (!limits) continue;
    fs::path leaf = h.own / "supervisor";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
      throwErrno("create cgroup " + quote(leaf.string()));
    }
    UniqueFd procs(::open((leaf / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs || ::write(procs.get(), "0", 1) != 1) {
      throwErrno("move into cgroup " + quote(leaf.string()));
    }
  }
}

// --log-driver=journal on the system bus: the pod's own journal (stage1/ABI.md §5 "systemd"), the
// journald namespace instance ferry-<uuid>, started before the pod and kept while it runs (its
// sockets stop when no unit needs them, journald itself when idle): the unit wants the service
// (it makes the files' directory at its start, which the ns stage1 binds into the init's root)
// and requires the sockets the stage1 connects.
void applyJournal(const fs::path& podDir, const std::string& uuid, BusKind bus, TransientUnit& u) {
  if (bus != BusKind::kSystem || pod::RuntimeOptions::read(podDir).logDriver != "journal") return;
  std::string ns = stage1::podJournalNamespace(uuid);
  std::string service = "systemd-journald@" + ns + ".service";
  std::vector<std::string> sockets = {"systemd-journald@" + ns + ".socket",
                                      "systemd-journald-varlink@" + ns + ".socket"};
  u.wants.push_back(service);
  u.requires_ = sockets;
  u.after = sockets;
  u.after.push_back(service);
}

fs::path selfExe() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throwErrno(ec.value(), "read /proc/self/exe");
  return exe;
}

}  // namespace

CgroupDriver parseCgroupDriver(std::string_view text) {
  if (text == "systemd") return CgroupDriver::kSystemd;
  if (text == "cgroupfs") return CgroupDriver::kCgroupfs;
  throw Error(Errc::kUsage, "--cgroup-driver: want systemd or cgroupfs, not " + quote(text));
}

CgroupDriver defaultCgroupDriver() {
  return booted() ? CgroupDriver::kSystemd : CgroupDriver::kCgroupfs;
}

std::optional<PodUnit> readPodUnit(const fs::path& podDir) {
  fs::path f = podDir / kUnitFile;
  // Only stage0's own record (a file a pod's root planted there names no unit of ours).
  std::optional<std::string> text = readOwnFile(f, 1 << 16);
  if (!text) return std::nullopt;
  json::Json j = json::parse(*text, f.string());
  try {
    json::asObject(j, "");
    PodUnit u;
    if (!j.contains("name")) json::fail("name", "missing");
    u.name = json::asString(j["name"], "name");
    std::string bus = j.contains("bus") ? json::asString(j["bus"], "bus") : "system";
    if (bus != "system" && bus != "user") json::fail("bus", "want system or user");
    u.bus = bus == "user" ? BusKind::kUser : BusKind::kSystem;
    std::string kind = j.contains("kind") ? json::asString(j["kind"], "kind") : "service";
    if (kind != "service" && kind != "scope") json::fail("kind", "want service or scope");
    u.service = kind == "service";
    if (!validUnitName(u.name, u.service ? ".service" : ".scope")) {
      json::fail("name", quote(u.name) + " is not a unit name");
    }
    return u;
  } catch (const Error& e) {
    throw Error(e.code(), "invalid " + quote(f.string()) + ": " + e.what());
  }
}

std::string startPodService(const pod::Pod& pod, const ServiceOptions& o) {
  TransientUnit u;
  u.name = o.name.value_or("ferry-" + pod.uuid + ".service");
  if (!u.name.ends_with(".service")) u.name += ".service";
  if (!validUnitName(u.name, ".service")) {
    throw Error(Errc::kUsage, "--unit: " + quote(u.name) + " is not a valid unit name");
  }
  if (!validUnitName(o.slice, ".slice")) {
    throw Error(Errc::kUsage, "--slice: " + quote(o.slice) + " is not a slice name");
  }
  u.description = "ferry pod " + pod.uuid;
  u.slice = o.slice;
  // A stop: SIGTERM to the stage1, which stops the pod; an app that SIGTERM ended gives the pod
  // 128+15 (ABI §5), which is how a stopped pod ends, not a failure of the unit.
  u.successExitStatus = {128 + SIGTERM};
  // Started once the pod is ready (the stage1 says READY=1 from the main process: ABI §5
  // "systemd"), so the start job, and `ferry run --unit`, end there.
  u.serviceType = "notify";
  u.notifyAccess = "main";
  u.execStart = {selfExe().string(), "--dir", fs::absolute(o.dataDir).string()};
  if (o.debug) u.execStart.push_back("--debug");
  for (const char* a : {"run-prepared", "--cgroup-driver=systemd"}) u.execStart.push_back(a);
  u.execStart.push_back(pod.uuid);
  applyLimits(pod.path, u);
  applyJournal(pod.path, pod.uuid, o.bus, u);
  Bus bus = Bus::open(o.bus);
  writePodUnit(pod.path, PodUnit{u.name, o.bus, true});
  try {
    startTransientUnit(bus, u);
  } catch (...) {
    // The pod stays prepared when its service never ran it; a unit that ran and failed keeps
    // its record (list and status name it).
    if (!unitActiveState(bus, u.name)) fs::remove(pod.path / kUnitFile);
    throw;
  }
  return u.name;
}

void enterPodUnit(const pod::Pod& pod, const std::string& flavor, const std::string& slice,
                  bool debug) {
  auto say = [&](const std::string& line) {
    if (debug) std::fprintf(stderr, "ferry: %s\n", line.c_str());
  };
  Bus bus = Bus::open(BusKind::kSystem);
  auto own = unitOfPid(::getpid());
  auto recorded = readPodUnit(pod.path);
  if (!(recorded && own && *own == recorded->name)) {
    if (!validUnitName(slice, ".slice")) {
      throw Error(Errc::kUsage, "--slice: " + quote(slice) + " is not a slice name");
    }
    TransientUnit u;
    u.name = "ferry-" + pod.uuid + ".scope";
    u.description = "ferry pod " + pod.uuid;
    u.slice = slice;
    u.pids = {static_cast<uint32_t>(::getpid())};
    // A scope has no main process: under KillMode=mixed its stop (systemctl stop, machinectl
    // terminate) SIGKILLs every process at once, the stage1 before it could stop the pod and
    // remove its cgroups. So SIGTERM to them all (the stage1 stops the pod, the init its apps),
    // SIGKILL only after the stop timeout.
    u.killMode = "control-group";
    applyLimits(pod.path, u);
    applyJournal(pod.path, pod.uuid, BusKind::kSystem, u);
    writePodUnit(pod.path, PodUnit{u.name, BusKind::kSystem, false});
    startTransientUnit(bus, u);
    say("in scope " + u.name);
  }
  leaveUnitRoot();
  registerWhenInitRuns(pod.path, pod.uuid, flavor, debug);
}

bool stopPodService(const pod::Pod& pod, bool force) {
  auto u = readPodUnit(pod.path);
  if (!u || !u->service) return false;
  Bus bus = Bus::open(u->bus);
  if (!unitActiveState(bus, u->name)) return false;
  if (force) {
    killUnit(bus, u->name, "all", SIGKILL);
  } else {
    stopUnit(bus, u->name);
  }
  return true;
}

}  // namespace ferry::systemd
