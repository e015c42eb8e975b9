// The pod init's side of systemd (stage1/ABI.md §5 "systemd"): the socket-activation descriptors
// systemd passed, each to its app; the apps' notify sockets and their READY=1; `ready` once every
// app started and every app that speaks sd_notify said so.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "stage2/init/pod.hpp"

namespace ferry::init {

// The environment the stage1 gave the init (and nothing else does: the init starts with an
// empty one) says which descriptors systemd passed: LISTEN_FDS=N at 3 … N+2, named by
// LISTEN_FDNAMES. Each goes to the app with a socket-activated port of its name; when one app
// alone has such ports, it gets them all (a socket unit names its descriptors after itself by
// default). Notify sockets: notify/<app> in the pod directory, bound through /proc/self/fd (a
// pod directory's path may not fit in sun_path), writable by any user of the app.
bool PodInit::setupSystemd() {
  int listenCount = 0;
  if (const char* n = ::getenv("LISTEN_FDS"))
    listenCount = std::max(0, std::min(std::atoi(n), 1024));
  std::vector<std::string> names;
  if (const char* v = ::getenv("LISTEN_FDNAMES")) {
    std::string all = v;
    for (size_t start = 0; start <= all.size();) {
      size_t colon = std::min(all.find(':', start), all.size());
      names.push_back(all.substr(start, colon - start));
      start = colon + 1;
    }
  }
  names.resize(static_cast<size_t>(listenCount));
  std::vector<App*> activated;
  for (auto& app : apps_) {
    if (!app->socketPorts.empty()) activated.push_back(app.get());
  }
  for (int i = 0; i < listenCount; ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    App* to = nullptr;
    for (App* a : activated) {
      if (std::find(a->socketPorts.begin(), a->socketPorts.end(), name) != a->socketPorts.end()) {
        to = a;
      }
    }
    if (to == nullptr && activated.size() == 1) to = activated[0];
    if (to == nullptr) {
      say("socket %d (%s): no app has a socket-activated port of that name; not passed", 3 + i,
          name.empty() ? "unnamed" : name.c_str());
      continue;
    }
    to->listenFds.push_back(3 + i);
  }
  for (auto& app : apps_) {
    if (!app->listenFds.empty()) {
      app->env.push_back("LISTEN_FDS=" + std::to_string(app->listenFds.size()));
      std::string fdNames;
      for (size_t k = 0; k < app->listenFds.size(); ++k) {
        fdNames += (k ? ":" : "") + names[static_cast<size_t>(app->listenFds[k] - 3)];
      }
      app->env.push_back("LISTEN_FDNAMES=" + fdNames);
      app->listenFdNames = fdNames;
    }
    for (const auto& e : app->env) app->envp.push_back(e.c_str());
    app->envp.push_back(nullptr);
  }

  bool anyNotify = std::any_of(apps_.begin(), apps_.end(), [](const auto& a) { return a->notify; });
  if (!anyNotify) return true;
  if (::mkdirat(podFd_, "notify", 0700) != 0 && errno != EEXIST) {
    say("cannot create \"%s/notify\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  int dirFd = ::openat(podFd_, "notify", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirFd < 0) {
    say("cannot open \"%s/notify\": %s", podDir_.c_str(), std::strerror(errno));
    return false;
  }
  bool ok = true;
  for (auto& app : apps_) {
    if (!app->notify) continue;
    std::string file = app->name;
    std::replace(file.begin(), file.end(), '/', '_');
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirFd, file.c_str());
    ::unlinkat(dirFd, file.c_str(), 0);
    app->notifyFd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (app->notifyFd < 0 ||
        ::bind(app->notifyFd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::fchmodat(dirFd, file.c_str(), 0666, 0) != 0) {
      say("%s: cannot make its notify socket \"%s/notify/%s\": %s", app->name.c_str(),
          podDir_.c_str(), file.c_str(), std::strerror(errno));
      ok = false;
      break;
    }
  }
  ::close(dirFd);
  return ok;
}

// sd_notify's datagrams: newline-separated assignments; READY=1 is the one that counts here.
void PodInit::onNotify(App& app) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(app.notifyFd, buf, sizeof buf - 1, 0);
    if (n < 0) return;  // EAGAIN: drained
    std::string_view msg(buf, static_cast<size_t>(n));
    for (size_t start = 0; start < msg.size();) {
      size_t nl = std::min(msg.find('\n', start), msg.size());
      if (msg.substr(start, nl - start) == "READY=1" && !app.notified) {
        app.notified = true;
        if (debug_) say("app %s is ready (sd_notify)", app.name.c_str());
      }
      start = nl + 1;
    }
    if (app.notified) break;
  }
  maybeReady();
}

// `ready`: every app started, and every app that speaks sd_notify said READY=1.
void PodInit::maybeReady() {
  if (ready_ || !allStarted_) return;
  for (const auto& app : apps_) {
    if (app->notify && !app->notified) return;
  }
  ready_ = true;
  int fd = ::openat(podFd_, "ready", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace ferry::init
