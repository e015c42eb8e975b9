#include "stage1/common/systemd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/error.hpp"

namespace ferry::stage1 {

int listenFdCount() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr || std::atol(pid) != ::getpid()) return 0;
  return std::max(0, std::min(std::atoi(fds), 1024));
}

std::vector<std::string> socketActivationEnv() {
  int n = listenFdCount();
  if (n <= 0) return {};
  std::vector<std::string> env = {"LISTEN_FDS=" + std::to_string(n)};
  if (const char* names = std::getenv("LISTEN_FDNAMES")) {
    env.push_back(std::string("LISTEN_FDNAMES=") + names);
  }
  return env;
}

std::string podJournalNamespace(const std::string& uuid) { return "ferry-" + uuid; }

std::filesystem::path journalNamespaceRuntimeDir(const std::string& ns) {
  return "/run/systemd/journal." + ns;
}

std::optional<std::filesystem::path> journalNamespaceFiles(const std::string& ns) {
  char id[64] = {};
  int in = ::open("/etc/machine-id", O_RDONLY | O_CLOEXEC);
  ssize_t n = in >= 0 ? ::read(in, id, sizeof id - 1) : -1;
  if (in >= 0) ::close(in);
  if (n < 32) return std::nullopt;
  std::string machine(id, 32);
  if (!std::all_of(machine.begin(), machine.end(), [](char c) { return std::isxdigit(c) != 0; })) {
    return std::nullopt;
  }
  return std::filesystem::path("/var/log/journal") / (machine + "." + ns);
}

std::string podMachineId(const std::string& uuid) {
  std::string id;
  for (char c : uuid) {
    if (c != '-') id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return id;
}

namespace {

// /var/log/journal/<pod machine ID>, a link to the namespace's files: what `journalctl -m`
// (every machine's journal there) and a fly pod's `journalctl -M` (its init's root is the
// host's) read. Best effort: the files are the namespace's either way.
void linkPodJournal(const std::string& uuid) {
  auto files = journalNamespaceFiles(podJournalNamespace(uuid));
  std::error_code ec;
  if (!files || !std::filesystem::is_directory(*files, ec)) return;
  std::filesystem::path link = files->parent_path() / podMachineId(uuid);
  if (::symlink(files->filename().c_str(), link.c_str()) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "ferry-stage1 run: cannot link %s to the pod's journal: %s\n",
                 quote(link.string()).c_str(), std::strerror(errno));
  }
}

}  // namespace

void removePodJournal(const std::string& uuid) {
  auto files = journalNamespaceFiles(podJournalNamespace(uuid));
  if (!files) return;
  std::filesystem::path link = files->parent_path() / podMachineId(uuid);
  std::error_code ec;
  struct stat st;
  if (::lstat(link.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::unlink(link.c_str()) != 0 &&
      errno != ENOENT) {
    throwErrno("remove " + quote(link.string()));
  }
  std::filesystem::remove_all(*files, ec);  // a symlink there is removed, never followed
  if (ec) throwErrno(ec.value(), "remove the pod's journal " + quote(files->string()));
}

namespace {

// A datagram socket connected to the journal socket at `path` (not close-on-exec: the pod init
// inherits it, and marks it so).
int connectJournal(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0) throwErrno("create a socket for the journal");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    throw Error(Errc::kInvalid, "cannot connect to the journal at " + quote(path) + ": too long");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    throwErrno(e, "connect to the journal at " + quote(path) + " (--log-driver=journal)");
  }
  return fd;
}

}  // namespace

void connectJournalForInit(std::vector<std::string>& initEnv, const std::string& uuid) {
  // The pod's own journal first (journalctl -M, -m, --namespace), then the system's: journald
  // files each entry there under the pod's unit (journalctl -u), which it tells from the init's
  // cgroup. Each gets every entry.
  int ownFd = -1;
  std::string own = journalNamespaceRuntimeDir(podJournalNamespace(uuid)) / "socket";
  if (::access(own.c_str(), F_OK) == 0) {
    ownFd = connectJournal(own);
    linkPodJournal(uuid);
  }
  int systemFd = -1;
  try {
    systemFd = connectJournal("/run/systemd/journal/socket");
  } catch (...) {
    if (ownFd >= 0) ::close(ownFd);
    throw;
  }
  initEnv.push_back("FERRY_JOURNAL_FD=" + (ownFd >= 0 ? std::to_string(ownFd) + "," : "") +
                    std::to_string(systemFd));
  // journald finds an entry's unit from its sender's cgroup when it reads the entry, which may
  // be after the pod ended: the init names the unit itself too (OBJECT_SYSTEMD_UNIT).
  std::string unit = ownUnit();
  if (!unit.empty()) initEnv.push_back("FERRY_JOURNAL_UNIT=" + unit);
}

std::string ownUnit() {
  char buf[4096];
  int in = ::open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  ssize_t n = in >= 0 ? ::read(in, buf, sizeof buf) : -1;
  if (in >= 0) ::close(in);
  return n > 0 ? unitOfCgroups(std::string_view(buf, static_cast<size_t>(n))) : "";
}

std::vector<std::filesystem::path> journalSocketsForInit(const std::string& uuid) {
  std::vector<std::filesystem::path> sockets;
  std::string own = journalNamespaceRuntimeDir(podJournalNamespace(uuid)) / "socket";
  if (::access(own.c_str(), F_OK) == 0) {
    sockets.push_back(own);
    linkPodJournal(uuid);
  }
  const char* system = "/run/systemd/journal/socket";
  if (::access(system, F_OK) != 0) {
    throwErrno("connect to the journal at " + quote(system) + " (--log-driver=journal)");
  }
  sockets.push_back(system);
  return sockets;
}

std::string unitOfCgroups(std::string_view procCgroup) {
  std::string_view unified, named;
  while (!procCgroup.empty()) {
    size_t end = procCgroup.find('\n');
    std::string_view line = procCgroup.substr(0, end);
    procCgroup = end == std::string_view::npos ? "" : procCgroup.substr(end + 1);
    size_t a = line.find(':'), b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers == "name=systemd") named = path;
    if (controllers.empty()) unified = path;
  }
  std::string_view path = named.empty() ? unified : named;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    std::string_view part = path.substr(0, path.find('/'));
    path.remove_prefix(part.size());
    if (part.ends_with(".slice")) continue;
    bool valid = part.size() <= 255 && std::all_of(part.begin(), part.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) ||
                          std::strchr(":-_.\\@", c) != nullptr;
                 });
    if (valid && (part.ends_with(".service") || part.ends_with(".scope"))) return std::string(part);
    return "";
  }
  return "";
}

namespace {

void sendReady(const std::string& socketPath) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size());
  if (socketPath[0] == '@') {
    addr.sun_path[0] = '\0';  // an abstract socket
  } else {
    len += 1;
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  static const char kReady[] = "READY=1";
  if (::sendto(fd, kReady, sizeof kReady - 1, 0, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    std::fprintf(stderr, "ferry-stage1 run: cannot tell systemd the pod is ready: %s\n",
                 std::strerror(errno));
  }
  ::close(fd);
}

}  // namespace

namespace {

// The readiness watch of this process (a run entrypoint watches one pod): `stop` tells its
// thread the pod ended, `done` says the thread returned.
struct ReadyWatch {
  pid_t owner = 0;
  int stop = -1;
  int done = -1;
};

ReadyWatch& readyWatch() {
  static ReadyWatch watch;
  return watch;
}

// READY=1 once `ready` exists; after `stop`, one last look at it. The last look makes READY=1
// go before this process exits whenever the pod was ready: a pod that ends right after it made
// `ready` (an app that serves one client, one that fails) would otherwise end the process, and
// this thread with it, before the datagram went, and systemd, the unit's main process gone
// without READY=1, fails the start.
void watchThenNotify(const std::string& socketPath, const std::string& dir, int stop) {
  int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0 || ::inotify_add_watch(in, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    std::fprintf(stderr, "ferry-stage1 run: cannot watch for the pod's readiness: %s\n",
                 std::strerror(errno));
    if (in >= 0) ::close(in);
    return;
  }
  std::string ready = dir + "/ready";
  // The watch is in place before each check: a `ready` made in between is seen either way.
  for (bool ended = false;;) {
    if (::access(ready.c_str(), F_OK) == 0) {
      sendReady(socketPath);
      break;
    }
    if (ended) break;
    pollfd fds[2] = {{in, POLLIN, 0}, {stop, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    char events[4096];
    while (::read(in, events, sizeof events) > 0) {
    }
    if (fds[1].revents & POLLIN) ended = true;
  }
  ::close(in);
}

}  // namespace

void notifyReadyWhenPodIs(const std::filesystem::path& podDir) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return;
  ReadyWatch& watch = readyWatch();
  if (watch.stop >= 0) return;  // watching already
  int stop = ::eventfd(0, EFD_CLOEXEC), done = ::eventfd(0, EFD_CLOEXEC);
  if (stop < 0 || done < 0) {
    std::fprintf(stderr, "ferry-stage1 run: cannot watch for the pod's readiness: %s\n",
                 std::strerror(errno));
    if (stop >= 0) ::close(stop);
    return;
  }
  watch = {::getpid(), stop, done};
  static bool registered = false;
  if (!registered) registered = std::atexit(podEnded) == 0;
  std::string socketPath = env;
  std::string dir = podDir.string();
  std::thread([socketPath, dir, stop, done] {
    watchThenNotify(socketPath, dir, stop);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(done, &one, sizeof one);
  }).detach();
}

void podEnded() {
  ReadyWatch& watch = readyWatch();
  if (watch.stop < 0 || watch.owner != ::getpid()) return;  // (a forked child: not its thread)
  uint64_t one = 1, got = 0;
  if (::write(watch.stop, &one, sizeof one) == sizeof one) {
    while (::read(watch.done, &got, sizeof got) < 0 && errno == EINTR) {
    }
  }
  ::close(watch.stop);
  ::close(watch.done);
  watch = {};
}

}  // namespace ferry::stage1
