// The enter entrypoint: a command inside a running app, as the app sees the world.
//
// The app's process is found through its cgroup (the status file's pid is in the pod's PID
// namespace; /proc/<pid>/status NSpid maps it to the host's). We join the app's cgroup and its
// cgroup, IPC, UTS, network, PID and mount namespaces (with privateUsers, its user namespace
// before them, as its root; the mount namespace last: it moves our
// root into the app's), then fork, so the command is a member of the pod's PID namespace, and
// the child becomes the app's process the way ferry-stage2 makes it (stage2::AppProcess: user
// and groups resolved in the app's /etc, cwd, rlimits, capabilities, no_new_privs, seccomp,
// process.env exactly) with the command as its argv.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include "common/cgroup_devices.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "formats/oci/runtime_spec.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/ns/enter_terminal.hpp"
#include "stage1/ns/entrypoints.hpp"
#include "stage2/app_process.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// The "NSpid:" line: the pid in each namespace from the host's down to the innermost.
std::vector<pid_t> nsPids(const std::string& status) {
  std::vector<pid_t> out;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    long v;
    while (fields >> v) out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

// The app's main process: its host pid and its /proc directory, open. Everything read or
// opened of it after the check goes through that directory (procPath), so a pid the app's
// process gave up and the host reused in between can never be joined: the directory of a
// process that has exited stays that process's, and what is opened through it fails.
struct AppTarget {
  pid_t pid = 0;
  UniqueFd dir;
  std::string procPath() const { return "/proc/self/fd/" + std::to_string(dir.get()); }
};

AppTarget findApp(const fs::path& podDir, const cgroup::Group& app, const std::string& name) {
  fs::path statusFile = podDir / "status" / (name + ".json");
  std::optional<int64_t> podPid;
  try {
    json::Json status = json::parse(readFile(statusFile), statusFile.string());
    if (status.value("state", "") == "running" && status["pid"].is_number_integer()) {
      podPid = status["pid"].get<int64_t>();
    }
  } catch (const std::exception&) {
    // no status yet: the app has not started
  }
  if (podPid) {
    for (pid_t pid : app.pids()) {
      AppTarget t;
      t.pid = pid;
      t.dir.reset(
          ::open(("/proc/" + std::to_string(pid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!t.dir) continue;
      // Still in the app's cgroup now that its directory is open: the directory is the app's
      // process's, not that of a process that took the pid since the cgroup was listed.
      std::vector<pid_t> now = app.pids();
      if (std::find(now.begin(), now.end(), pid) == now.end()) continue;
      std::string text;
      try {
        text = readFile(t.procPath() + "/status");
      } catch (const std::exception&) {
        continue;
      }
      auto ids = nsPids(text);
      if (!ids.empty() && ids.back() == *podPid) return t;
    }
  }
  throw Error(Errc::kNotFound, "cannot enter app " + quote(name) + ": it is not running");
}

// Where `pid` is in a hierarchy where the app has no cgroup of its own: the cgroup at or below
// the pod's (`dir`) that holds it (nspawn's payload cgroup below the pod's there), else `dir`.
// Never above or beside the pod's cgroup.
fs::path cgroupAtOrBelow(const fs::path& dir, pid_t pid) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    std::string procs;
    try {
      procs = readFile(it->path() / "cgroup.procs", 1 << 20);
    } catch (const std::exception&) {
      continue;
    }
    std::istringstream in(procs);
    long v;
    while (in >> v) {
      if (v == pid) return it->path();
    }
  }
  return dir;
}

}  // namespace

int enterEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = RuntimeOptions::read(podDir);
  rt.checkUuid(args.uuid);
  if (!rt.hasApp(args.app)) throw Error(Errc::kNotFound, "the pod has no app " + quote(args.app));
  auto pod = readCgroupsJson(podDir, args.uuid);
  if (!pod)
    throw Error(Errc::kNotFound, "cannot enter the pod: it has no cgroups.json (not started)");
  cgroup::Group appGroup = pod->existingChild(cgroup::appCgroupName(args.app));
  AppTarget target = findApp(podDir, appGroup, args.app);

  fs::path configFile = podDir / "apps" / args.app / "config.json";
  oci::RuntimeSpec spec =
      oci::RuntimeSpec::parse(readFile(configFile, 16 << 20), configFile.string());
  if (!spec.process) throw Error(Errc::kInvalid, quote(configFile.string()) + ": no process");
  // With a terminal on stdin the command gets a pty (enter_terminal.hpp) and, as from podman
  // exec -t, a TERM: the app's own, else the caller's, else xterm.
  if (::isatty(STDIN_FILENO) != 0) {
    std::vector<std::string>& env = spec.process->env;
    if (std::none_of(env.begin(), env.end(),
                     [](const std::string& e) { return e.starts_with("TERM="); })) {
      const char* term = std::getenv("TERM");
      env.push_back(std::string("TERM=") + (term != nullptr && *term != '\0' ? term : "xterm"));
    }
  }
  // Everything is checked (capabilities, rlimits, seccomp) before anything changes.
  // The seccomp filter from the bundle's compiled copy when it holds exactly this filter.
  stage2::AppProcess app(spec, podDir / "apps" / args.app);
  std::string procDir = target.procPath();

  // Open every namespace first: once in the app's mount namespace, /proc is the pod's.
  // One that is this process's own already is not joined again: in a user namespace that does
  // not own it (the host's network with --net=host, the kvm guest's, which its pod shares)
  // setns would fail with EPERM.
  std::vector<UniqueFd> namespaces;
  std::vector<bool> own;
  for (const char* ns : {"cgroup", "ipc", "uts", "net", "pid", "mnt"}) {
    namespaces.push_back(openFile(procDir + "/ns/" + ns, O_RDONLY));
    struct stat theirs, ours;
    own.push_back(::fstat(namespaces.back().get(), &theirs) == 0 &&
                  ::stat((std::string("/proc/self/ns/") + ns).c_str(), &ours) == 0 &&
                  theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino);
  }
  UniqueFd userns;
  if (rt.privateUsers) userns = openFile(procDir + "/ns/user", O_RDONLY);
  // The app's cgroup where it has one, elsewhere (freezer, devices, …: on v2 the app always has
  // its own) the app's process's cgroup inside the pod's: the pod cgroup on ns, nspawn's payload
  // cgroup below it on nspawn.
  std::vector<cgroup::Member> where;
  for (const cgroup::Member& m : pod->members()) {
    fs::path own = m.dir / cgroup::appCgroupName(args.app);
    bool has = ::access(own.c_str(), F_OK) == 0;
    where.push_back(
        {m.mount, has ? own : cgroupAtOrBelow(m.dir, target.pid), m.version, m.controllers});
  }
  cgroup::Group joined(std::move(where));
  // Nothing runs in the pod without its device rules: an old pod's cgroups without them, or a
  // record missing a hierarchy (this process would stay in its own cgroup there), end here.
  cgroup::requireDeviceRules(joined);
  joined.join(::getpid());
  target.dir.reset();  // nothing of the host's /proc goes into the pod's namespaces
  if (rt.privateUsers) {
    // The pod's user namespace first: the others are its, and from here on this process holds
    // no capability outside it. Then its root (host uid START), as the pod's first process is.
    if (::setns(userns.get(), CLONE_NEWUSER) != 0) throwErrno("join the pod's user namespace");
    if (::setresgid(0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 || ::setresuid(0, 0, 0) != 0) {
      throwErrno("become the root of the pod's user namespace");
    }
  }
  const char* names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (!own[i] && ::setns(namespaces[i].get(), 0) != 0) {
      throwErrno(std::string("join the app's ") + names[i] + " namespace");
    }
  }

  // The caller's terminal stays here: the command gets a pty of the app's own /dev/pts (we are
  // in its mount namespace, rooted in it) and a session of its own (enter_terminal.cpp).
  EnterTerminal terminal;
  pid_t child = ::fork();
  if (child < 0) throwErrno("fork");
  if (child == 0) {
    try {
      terminal.inChild();
      app.exec(args.command);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ferry-stage1 enter: %s\n", describe(e, true).c_str());
    }
    ::_exit(kOwnFailure);
  }
  return terminal.waitFor(child);
}

}  // namespace ferry::stage1
