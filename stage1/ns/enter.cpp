// The enter entrypoint: a command inside a running app, as the app sees the world.
//
// The app's process is found through its cgroup (the status file's pid is in the pod's PID
// namespace; /proc/<pid>/status NSpid maps it to the host's). We join the app's cgroup and its
// cgroup, IPC, UTS, network, PID and mount namespaces (the mount namespace last: it moves our
// root into the app's), then fork, so the command is a member of the pod's PID namespace. The
// command gets the app's environment and working directory from config.json, and the
// credentials the app process really runs with (stage2 resolved names against the app's
// /etc/passwd already), read from /proc/<pid>/status. Capabilities and seccomp are not applied:
// enter is a debugging door for root, as in rkt.
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage1/ns/entrypoints.hpp"
#include "stage1/ns/pod.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

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

Credentials credentialsOf(const std::string& status) {
  Credentials c;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line.substr(line.find(':') + 1));
    unsigned long real = 0, effective = 0;
    if (line.rfind("Uid:", 0) == 0 && fields >> real >> effective) {
      c.uid = static_cast<uid_t>(effective);
    } else if (line.rfind("Gid:", 0) == 0 && fields >> real >> effective) {
      c.gid = static_cast<gid_t>(effective);
    } else if (line.rfind("Groups:", 0) == 0) {
      unsigned long g;
      while (fields >> g) c.groups.push_back(static_cast<gid_t>(g));
    }
  }
  return c;
}

// The host pid of the app's main process.
pid_t findApp(const fs::path& podDir, const cgroup::Group& app, const std::string& name) {
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
      std::string text;
      try {
        text = readFile("/proc/" + std::to_string(pid) + "/status");
      } catch (const std::exception&) {
        continue;
      }
      auto ids = nsPids(text);
      if (!ids.empty() && ids.back() == *podPid) return pid;
    }
  }
  throw Error(Errc::kNotFound, "cannot enter app " + quote(name) + ": it is not running");
}

}  // namespace

int enterEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  RuntimeOptions rt = readRuntime(podDir);
  if (rt.uuid != args.uuid) {
    throw Error(Errc::kInvalid,
                "--uuid " + args.uuid + " is not this pod's (runtime.json: " + rt.uuid + ")");
  }
  bool known = false;
  for (const auto& a : rt.apps) known = known || a.name == args.app;
  if (!known) throw Error(Errc::kNotFound, "the pod has no app " + quote(args.app));
  auto pod = readCgroupsJson(podDir);
  if (!pod)
    throw Error(Errc::kNotFound, "cannot enter the pod: it has no cgroups.json (not started)");
  cgroup::Group appGroup = pod->child(cgroup::appCgroupName(args.app));
  pid_t target = findApp(podDir, appGroup, args.app);

  fs::path configFile = podDir / "apps" / args.app / "config.json";
  json::Json config = json::parse(readFile(configFile), configFile.string());
  std::vector<std::string> env;
  std::string cwd = "/";
  if (config.contains("process") && config["process"].is_object()) {
    const json::Json& process = config["process"];
    if (process.contains("env")) {
      for (const auto& e : json::asArray(process["env"], "process.env")) {
        env.push_back(json::asString(e, "process.env[]"));
      }
    }
    if (process.contains("cwd")) cwd = json::asString(process["cwd"], "process.cwd");
  }
  std::string procDir = "/proc/" + std::to_string(target);
  Credentials creds = credentialsOf(readFile(procDir + "/status"));

  // Open every namespace first: once in the app's mount namespace, /proc is the pod's.
  std::vector<UniqueFd> namespaces;
  for (const char* ns : {"cgroup", "ipc", "uts", "net", "pid", "mnt"}) {
    namespaces.push_back(openFile(procDir + "/ns/" + ns, O_RDONLY));
  }
  appGroup.join(::getpid());
  const char* names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (::setns(namespaces[i].get(), 0) != 0) {
      throwErrno(std::string("join the app's ") + names[i] + " namespace");
    }
  }

  pid_t child = ::fork();
  if (child < 0) throwErrno("fork");
  if (child == 0) {
    auto die = [](const std::string& what) {
      std::fprintf(stderr, "ferry-stage1 enter: cannot %s: %s\n", what.c_str(),
                   std::strerror(errno));
      ::_exit(errno == ENOENT ? 127 : 126);
    };
    ::signal(SIGINT, SIG_DFL);
    if (::chdir(cwd.c_str()) != 0) die("change to the app's directory " + quote(cwd));
    if (::setgroups(creds.groups.size(), creds.groups.data()) != 0) die("set groups");
    if (::setgid(creds.gid) != 0) die("set gid " + std::to_string(creds.gid));
    if (::setuid(creds.uid) != 0) die("set uid " + std::to_string(creds.uid));
    ::clearenv();
    for (auto& e : env) ::putenv(e.data());
    std::vector<char*> argv;
    for (const auto& a : args.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    die("execute " + quote(args.command[0]));
  }
  // Ctrl-C reaches the command through the terminal; this process only waits for it.
  ::signal(SIGINT, SIG_IGN);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) throwErrno("wait for the command");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace ferry::stage1
