// PodInit::load: what the pod init reads before anything starts. runtime.json (the apps in start
// order, interactive, debug, the log driver and its journal sockets, the stop grace, which
// stage2 the children run), cgroups.json (each app's cgroup), and of each app's config.json only
// its handlers, notify and socket-activation annotations and stop signal (stage2 reads the rest).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <utility>

#include "common/sealed_exec.hpp"
#include "common/signals.hpp"
#include "stage1/common/keys.hpp"
#include "stage1/common/runtime.hpp"
#include "stage2/init/json_lite.hpp"
#include "stage2/init/pod.hpp"

namespace ferry::init {

namespace rf = stage1::runtime_field;

bool PodInit::load() {
  podFd_ = ::open(podDir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (podFd_ < 0) {
    say("cannot open \"%s\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  std::string runtimePath = podDir_ + "/runtime.json";
  auto text = slurp(podFd_, "runtime.json");
  if (!text) {
    say("cannot read \"%s\": %s", runtimePath.c_str(), std::strerror(errno));
    return false;
  }
  auto runtime = parseJson(*text);
  if (!runtime || !runtime->isObject()) {
    say("cannot read \"%s\": not a JSON object", runtimePath.c_str());
    return false;
  }
  const JsonValue* apps = runtime->get(rf::kApps);
  if (apps == nullptr || !apps->isArray() || apps->items.empty()) {
    say("\"%s\": apps: missing or empty", runtimePath.c_str());
    return false;
  }
  if (const JsonValue* v = runtime->get(rf::kInteractive)) interactive_ = v->boolean;
  if (const JsonValue* v = runtime->get(rf::kDebug)) debug_ = v->boolean;
  if (const JsonValue* v = runtime->get(rf::kUuid); v && v->isString()) uuid_ = v->text;
  // The journal log driver (ABI §5 "systemd"): the stage1 connected the socket for us.
  if (const JsonValue* v = runtime->get(rf::kLogDriver); v && v->isString()) {
    if (v->text == "journal") {
      // One socket, or two: the pod's own journal and the system's (ABI §5 "systemd"); their
      // paths, when the stage1 could not pass them (nspawn).
      const char* fds = ::getenv("FERRY_JOURNAL_FD");
      const char* paths = ::getenv("FERRY_JOURNAL_SOCKETS");
      if (fds == nullptr && paths != nullptr) {
        std::string error;
        journalFds_ = JournalSink::connectPaths(paths, error);
        if (journalFds_.empty()) {
          say("\"%s\": logDriver journal: FERRY_JOURNAL_SOCKETS: %s", runtimePath.c_str(),
              error.c_str());
          return false;
        }
      } else {
        journalFds_ = JournalSink::parseFds(fds != nullptr ? fds : "");
      }
      bool sockets = !journalFds_.empty();
      for (int fd : journalFds_) {
        struct stat st;
        sockets = sockets && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
      }
      if (!sockets) {
        say("\"%s\": logDriver journal, but the stage1 passed no journal socket",
            runtimePath.c_str());
        journalFds_.clear();
        return false;
      }
      journal_ = std::make_unique<JournalSink>(journalFds_);
      // The pod's unit, named by each entry: journald may read one after the init is gone, when
      // it can no longer tell the unit from the sender's cgroup (`journalctl -u` finds either).
      if (const char* unit = ::getenv("FERRY_JOURNAL_UNIT");
          unit != nullptr && *unit != '\0' && std::strchr(unit, '\n') == nullptr) {
        journalUnit_ = unit;
      }
    } else if (v->text != "file") {
      say("\"%s\": logDriver: not a log driver: %s", runtimePath.c_str(), v->text.c_str());
      return false;
    }
  }
  if (const JsonValue* v = runtime->get(rf::kStopTimeoutSeconds); v && v->asInt()) {
    graceSeconds_ = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(*v->asInt(), 86400)));
  }
  if (const JsonValue* v = runtime->get(rf::kStage2); v && v->isString()) stage2_ = v->text;
  // Stage2 in the child itself (no ferry-stage2 exec) unless runtime.json names a ferry-stage2,
  // and only when this executable is sealed (a read-only mount or a sealed memfd, as ABI §5 has
  // every stage1 start ferry-init): the child is this executable until the app's execve, and an
  // app whose entrypoint is a `#!/proc/self/exe` script runs it again as the app, holding it as
  // /proc/self/exe; from a writable file that would be CVE-2019-5736 (common/sealed_exec.hpp).
  // fly runs this loop in its stage1's own `run`, a writable file: it keeps exec'ing the
  // ferry-stage2 it binds read-only.
  inProcess_ = stage2_.empty() && selfExeSealed();
  if (stage2_.empty() && !inProcess_) {
    // The stage1 ships ferry-stage2 next to the init.
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      say("cannot find ferry-stage2: readlink /proc/self/exe: %s", std::strerror(errno));
      return false;
    }
    std::string exe(self, static_cast<size_t>(n));
    stage2_ = exe.substr(0, exe.rfind('/') + 1) + "ferry-stage2";
  }

  // The pod's cgroups, when the stage1 made some: each app has its child cgroup there.
  std::optional<cgroup::Group> pod;
  if (auto cg = slurp(podFd_, "cgroups.json")) {
    auto doc = parseJson(*cg);
    std::vector<std::pair<std::string, std::string>> dirs;
    if (doc && doc->isObject()) {
      for (const auto& [mount, dir] : doc->fields) {
        if (dir.isString()) dirs.emplace_back(mount, dir.text);
      }
    }
    if (!doc || !doc->isObject() || dirs.size() != doc->fields.size()) {
      say("cannot read \"%s/cgroups.json\": not an object of strings", podDir_.c_str());
      return false;
    }
    try {
      pod = cgroup::Group::fromDirs(dirs);
    } catch (const std::exception& e) {
      say("\"%s/cgroups.json\": %s", podDir_.c_str(), e.what());
      return false;
    }
  }

  for (const JsonValue& a : apps->items) {
    const JsonValue* name = a.get(rf::kAppName);
    if (name == nullptr || !name->isString() || name->text.empty() ||
        name->text.find("..") != std::string::npos) {
      say("\"%s\": apps: an app without a valid name", runtimePath.c_str());
      return false;
    }
    auto app = std::make_unique<App>();
    app->name = name->text;
    app->bundle = podDir_ + "/apps/" + app->name;
    if (pod) {
      app->cgroup = pod->existingChild(cgroup::appCgroupName(app->name));
      app->procsFiles = app->cgroup.procsFiles();
      for (const auto& f : app->procsFiles) app->procs.push_back(f.c_str());
    }
    // Only the handlers' presence and the stop signal matter here; ferry-stage2 reads the
    // whole config.
    if (auto config = slurp(podFd_, "apps/" + app->name + "/config.json")) {
      if (auto doc = parseJson(*config)) {
        if (const JsonValue* ann = doc->get("annotations")) {
          app->preStart = ann->get(keys::kPreStart) != nullptr;
          app->postStop = ann->get(keys::kPostStop) != nullptr;
          if (const JsonValue* v = ann->get(keys::kNotify); v && v->isString()) {
            app->notify = v->text == "true";
          }
          if (const JsonValue* v = ann->get(keys::kSocketActivated); v && v->isString()) {
            for (size_t start = 0; start <= v->text.size();) {
              size_t comma = std::min(v->text.find(',', start), v->text.size());
              if (comma > start) app->socketPorts.push_back(v->text.substr(start, comma - start));
              start = comma + 1;
            }
          }
          if (const JsonValue* v = ann->get(keys::kStopSignal); v && v->isString()) {
            auto sig = parseSignal(v->text);
            if (!sig) {
              say("\"%s/config.json\": annotations[dev.ferry.stop-signal]: not a signal: %s",
                  app->bundle.c_str(), v->text.c_str());
              return false;
            }
            app->stopSignal = *sig;
          }
        }
      }
    }
    apps_.push_back(std::move(app));
  }
  return true;
}

}  // namespace ferry::init
