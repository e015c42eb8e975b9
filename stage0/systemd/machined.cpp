#include "stage0/systemd/machined.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/own_file.hpp"

namespace ferry::systemd {

namespace fs = std::filesystem;

namespace {

std::array<uint8_t, 16> uuidBytes(const std::string& uuid) {
  std::array<uint8_t, 16> out{};
  size_t n = 0;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    int hi = hex(uuid[i]), lo = i + 1 < uuid.size() ? hex(uuid[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n == out.size()) {
      throw Error(Errc::kInvalid, "cannot register machine: " + quote(uuid) + " is not a UUID");
    }
    out[n++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
  if (n != out.size()) {
    throw Error(Errc::kInvalid, "cannot register machine: " + quote(uuid) + " is not a UUID");
  }
  return out;
}

// The pod init's pid from the pod's `pid` file (written atomically), 0 while there is none.
pid_t podPid(const fs::path& podDir) {
  std::optional<std::string> own = readOwnFile(podDir / "pid", 64);
  if (!own) return 0;
  const std::string& text = *own;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || v <= 1 || v > 0x7fffffff) {
    throw Error(Errc::kInvalid,
                "cannot register machine: " + quote((podDir / "pid").string()) + " holds no pid");
  }
  return static_cast<pid_t>(v);
}

MachineRegistration machineOf(const fs::path& podDir, const std::string& uuid,
                              const std::string& flavor, pid_t leader) {
  MachineRegistration m{"ferry-" + uuid, uuid, leader, "container", podDir};
  if (flavor == "kvm") {
    m.machineClass = "vm";  // QEMU; the pod's tree is the guest's, seen through its share
    m.rootDirectory.clear();
  } else if (flavor == "nspawn") {
    m.rootDirectory = podDir / "nspawn" / "root";  // systemd-nspawn's --directory
  }  // ns, fly: the init's root is the pod directory (it pivots there, ABI §5)
  return m;
}

// The detached registrar: waits for `pid` (inotify on the pod directory) while `stage1` (a
// pidfd of the process that became the stage1) lives, then registers.
[[noreturn]] void registrar(const fs::path& podDir, const std::string& uuid,
                            const std::string& flavor, int stage1, bool debug) {
  pid_t leader = 0;
  try {
    UniqueFd watch(::inotify_init1(IN_CLOEXEC));
    if (!watch || ::inotify_add_watch(watch.get(), podDir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
      throwErrno("watch " + quote(podDir.string()));
    }
    // The watch is in place before each look: a `pid` made in between is seen either way.
    while ((leader = podPid(podDir)) == 0) {
      pollfd fds[2] = {{watch.get(), POLLIN, 0}, {stage1, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throwErrno("wait for the pod's init");
      }
      if (fds[1].revents != 0) {
        leader = podPid(podDir);
        if (leader == 0) ::_exit(0);  // the stage1 ended before it started an init
        break;
      }
      char events[4096];
      [[maybe_unused]] ssize_t n = ::read(watch.get(), events, sizeof events);
    }
    std::error_code ec;
    if (fs::exists(podDir / "exit", ec)) ::_exit(0);
    MachineRegistration m = machineOf(podDir, uuid, flavor, leader);
    Bus bus = Bus::open(BusKind::kSystem);
    bool done = registerMachine(bus, m);
    if (debug) {
      std::fprintf(
          stderr, "ferry: %s\n",
          done ? ("registered machine " + m.name + ", leader " + std::to_string(leader)).c_str()
               : ("machined does not run: pod " + uuid + " is not a machine").c_str());
    }
    ::_exit(0);
  } catch (const std::exception& e) {
    // A pod that ended meanwhile needs no machine (machined refuses a dead leader).
    std::error_code ec;
    bool gone = fs::exists(podDir / "exit", ec) || (leader > 0 && ::kill(leader, 0) != 0);
    if (!gone || debug) std::fprintf(stderr, "ferry: %s\n", e.what());
    ::_exit(gone ? 0 : 1);
  }
}

}  // namespace

void registerWhenInitRuns(const fs::path& podDir, const std::string& uuid,
                          const std::string& flavor, bool debug) {
  std::fflush(stderr);
  pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child < 0) throwErrno("fork to register pod " + uuid + " with machined");
  if (child == 0) {
    // This process's pidfd stays valid across its exec of the stage1 and tells its end.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, self, 0));
    if (pidfd < 0 || ::getppid() != self) ::_exit(1);
    int stage1 = ::fcntl(pidfd, F_DUPFD_CLOEXEC, 64);  // clear of 0-3 (stdio may be closed)
    if (stage1 < 0) ::_exit(1);
    // The grandchild registers, orphaned at once: the stage1 never sees a child it did not make.
    if (::fork() != 0) ::_exit(0);
    ::setsid();  // no terminal's signals
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(stage1, 3) < 0) {
      ::_exit(1);
    }
    // Holds nothing of the caller's but stderr: no pipe, no pod lock, no bus connection.
    ::close_range(4, ~0U, 0);
    registrar(podDir, uuid, flavor, 3, debug);
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool registerMachine(Bus& bus, const MachineRegistration& m) {
  auto id = uuidBytes(m.uuid);
  try {
    bus.call(
        "org.freedesktop.machine1", "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
        "RegisterMachine",
        [&](Writer& w) {
          w.str(m.name).bytes(id.data(), id.size()).str("ferry").str(m.machineClass);
          w.u32(static_cast<uint32_t>(m.leader)).str(m.rootDirectory.string());
        },
        "register machine " + quote(m.name));
  } catch (const BusError& e) {
    // No machined on that bus (not installed, or not activatable).
    if (e.name() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        e.name() == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        e.name().starts_with("org.freedesktop.DBus.Error.Spawn.") ||
        e.name() == "org.freedesktop.systemd1.NoSuchUnit") {
      return false;
    }
    throw;
  }
  return true;
}

}  // namespace ferry::systemd
