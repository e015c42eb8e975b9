#include "stage1/kvm/vm.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/resources.hpp"
#include "stage1/kvm/channel.hpp"

namespace ferry::stage1::kvm {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMiB = 1024 * 1024;

int64_t envNumber(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  if (*end != '\0' || n <= 0) {
    throw Error(Errc::kInvalid,
                std::string("cannot read ") + name + ": not a positive number: " + quote(v));
  }
  return n;
}

// The CPUs a quota/period pair asks for (1.5 for 150000/100000); nullopt without a quota.
std::optional<double> cpusOf(const cgroup::Resources& r) {
  if (!r.cpuQuota || *r.cpuQuota <= 0) return std::nullopt;
  uint64_t period = r.cpuPeriod.value_or(100000);
  if (period == 0) return std::nullopt;
  return static_cast<double>(*r.cpuQuota) / static_cast<double>(period);
}

}  // namespace

Guest Guest::find(const fs::path& stage1Dir) {
  Guest g{stage1Dir / "guest" / "vmlinux", stage1Dir / "guest" / "initrd"};
  if (::access(g.kernel.c_str(), R_OK) == 0 && ::access(g.initrd.c_str(), R_OK) == 0) return g;
  std::string why;
  try {
    why = readFile(stage1Dir / "guest" / "MISSING", 4096);
    while (!why.empty() && why.back() == '\n') why.pop_back();
  } catch (const std::exception&) {
  }
  throw Error(Errc::kUnsupported,
              "not supported: the kvm stage1 has no guest kernel and "
              "initramfs in " +
                  quote((stage1Dir / "guest").string()) + (why.empty() ? "" : ": " + why));
}

fs::path findQemu() {
  for (const char* p : {"/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  throw Error(Errc::kUnsupported,
              "not supported: the kvm stage1 needs qemu-system-x86_64 (Debian: qemu-system-x86)");
}

std::optional<fs::path> findVirtiofsd() {
  if (const char* v = std::getenv("FERRY_KVM_VIRTIOFSD"); v != nullptr && *v != '\0') {
    if (std::string(v) == "none") return std::nullopt;
    return fs::path(v);
  }
  for (const char* p : {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"}) {
    if (::access(p, X_OK) == 0) return fs::path(p);
  }
  return std::nullopt;
}

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

VmSize vmSize(const fs::path& podDir, const RuntimeOptions& rt) {
  ResourcesConfig pod = podResourcesOf(podDir, rt);
  std::vector<cgroup::Resources> apps;
  for (const RuntimeApp& app : rt.apps) apps.push_back(appCgroupConfig(podDir, app.name).limits);
  VmSize size;
  int64_t memory = envNumber("FERRY_KVM_MEMORY", 512) * kMiB;
  if (pod.limits.memoryLimit && *pod.limits.memoryLimit > 0) {
    memory = *pod.limits.memoryLimit;
  } else if (!apps.empty() && std::all_of(apps.begin(), apps.end(), [](const auto& r) {
               return r.memoryLimit && *r.memoryLimit > 0;
             })) {
    memory = 0;
    for (const auto& r : apps) memory += *r.memoryLimit;
  }
  size.memoryMiB = (memory + kMiB - 1) / kMiB + kMemoryOverheadMiB;
  // vCPUs: the pod's CPU limit; else, when every app has one, their sum (the apps run side by
  // side, each held to its own by the guest's cgroups); else the host's CPUs, for an app without
  // a CPU limit may use all of them on every other flavor. Rounded up, at most the host's.
  long host = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (host < 1) host = 1;
  double cpus = static_cast<double>(host);
  if (auto c = cpusOf(pod.limits)) {
    cpus = *c;
  } else if (!apps.empty() &&
             std::all_of(apps.begin(), apps.end(), [](const auto& r) { return cpusOf(r); })) {
    cpus = 0;
    for (const auto& r : apps) cpus += *cpusOf(r);
  }
  size.cpus = static_cast<int>(std::clamp<double>(std::ceil(cpus - 1e-9), 1, host));
  return size;
}

std::vector<std::string> qemuArgv(const fs::path& qemu, const QemuPlan& p) {
  std::string mem = std::to_string(p.size.memoryMiB);
  auto fdOr = [](int fd, const std::string& path) {
    return fd >= 0 ? "/proc/self/fd/" + std::to_string(fd) : path;
  };
  std::vector<std::string> a = {
      qemu.string(), "-name", p.name, "-nodefaults", "-no-user-config", "-display", "none",
      "-no-reboot",
      // QEMU's own seccomp filter: no obsolete system calls, no setuid/setgid, no fork/exec,
      // no scheduler or affinity changes.
      "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
      "-accel", p.accel, "-cpu", p.accel == "kvm" ? "host" : "max", "-m", mem + "M", "-smp",
      std::to_string(p.size.cpus), "-kernel", fdOr(p.kernelFd, p.guest.kernel.string()), "-initrd",
      fdOr(p.initrdFd, p.guest.initrd.string()), "-append", p.append, "-device",
      "virtio-serial-pci,id=vs", "-chardev",
      p.channelFd >= 0 ? "socket,id=ch,fd=" + std::to_string(p.channelFd)
                       : std::string("socket,id=ch,path=") + kChannelSocket,
      "-device",
      std::string("virtserialport,bus=vs.0,chardev=ch,name=") + ferry::kvm::kChannelName};
  if (p.consoleFd >= 0) {
    a.insert(a.end(), {"-add-fd", "fd=" + std::to_string(p.consoleFd) + ",set=1", "-chardev",
                       "file,id=con,path=/dev/fdset/1", "-serial", "chardev:con"});
  } else {
    a.insert(a.end(), {"-serial", std::string("file:") + kConsole});
  }
  if (p.share && p.virtiofs) {
    // vhost-user needs the guest's memory shared with virtiofsd.
    a.insert(a.end(), {"-object", "memory-backend-memfd,id=mem,size=" + mem + "M,share=on", "-numa",
                       "node,memdev=mem", "-chardev",
                       p.fsFd >= 0 ? "socket,id=fs,fd=" + std::to_string(p.fsFd)
                                   : std::string("socket,id=fs,path=") + kFsSocket,
                       "-device", std::string("vhost-user-fs-pci,chardev=fs,tag=") + kShareTag});
  } else if (p.share) {
    std::string path = p.shareRoot.string();
    if (path.find(',') != std::string::npos) {
      throw Error(Errc::kUnsupported,
                  "not supported: a 9p share of a path holding ',': " + quote(path));
    }
    a.insert(a.end(), {"-virtfs", "local,path=" + path + ",mount_tag=" + kShareTag +
                                      ",security_model=passthrough,multidevs=remap"});
  }
  return a;
}

namespace {

// Boots the guest in probe mode under `accel`; true when its /init said hello in time.
bool probe(const Guest& guest, const std::string& accel, int timeoutSeconds) {
  char tmpl[] = "/tmp/ferry-kvm-probe.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throwErrno("create a temporary directory");
  fs::path dir = tmpl;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (dir / kChannelSocket).string();
  if (path.size() >= sizeof addr.sun_path) return false;
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    throwErrno("listen on " + quote(path));
  }
  QemuPlan plan;
  plan.accel = accel;
  plan.size = VmSize{kMemoryOverheadMiB + 64, 1};
  plan.guest = guest;
  plan.name = "ferry-kvm-probe";
  plan.append = "console=ttyS0 loglevel=1 panic=-1 rdinit=/init quiet ferry.probe=1";
  plan.share = false;
  std::vector<std::string> argv = qemuArgv(findQemu(), plan);
  std::vector<char*> cargv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throwErrno("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = ::open("/dev/null", O_RDWR);
    if (::chdir(dir.c_str()) != 0 || null < 0) ::_exit(127);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  bool hello = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  UniqueFd conn;
  ferry::kvm::FrameReader reader;
  while (!hello && std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    pollfd p{conn ? conn.get() : listener.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (!conn) {
      conn = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      continue;
    }
    if (reader.fill(conn.get()) <= 0) break;
    while (auto f = reader.next()) hello = hello || f->type == ferry::kvm::FrameType::kHello;
  }
  if (pid > 0) {
    // A probe that said hello powers off by itself; anything else is killed.
    for (int i = 0; hello && i < 200; ++i) {
      int status;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  return hello;
}

// /dev/kvm, open and answering KVM_GET_API_VERSION as KVM does; else an empty descriptor and
// why not in `why`.
UniqueFd openKvm(std::string* why) {
  UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!fd) {
    *why = std::string("open \"/dev/kvm\": ") + std::strerror(errno);
    return fd;
  }
  int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    *why = version < 0 ? std::string("\"/dev/kvm\" is no KVM device (KVM_GET_API_VERSION: ") +
                             std::strerror(errno) + ")"
                       : "\"/dev/kvm\" speaks KVM API " + std::to_string(version) + ", not " +
                             std::to_string(KVM_API_VERSION);
    return UniqueFd();
  }
  return fd;
}

}  // namespace

std::string chooseAccel(const Guest& guest, const std::optional<std::string>& asked, bool debug) {
  const char* v = std::getenv("FERRY_KVM_ACCEL");
  std::string want = asked ? *asked : v != nullptr && *v != '\0' ? v : "auto";
  if (want != "kvm" && want != "tcg" && want != "auto") {
    throw Error(Errc::kInvalid, std::string("cannot read ") +
                                    (asked ? "the option kvm-accel" : "FERRY_KVM_ACCEL") + ": " +
                                    quote(want) + " is not kvm, tcg or auto");
  }
  if (want == "tcg") return want;
  std::string why;
  UniqueFd kvm = openKvm(&why);
  if (want == "kvm") {
    if (!kvm) throw Error(Errc::kUnsupported, "cannot use KVM (kvm-accel=kvm): " + why);
    return want;
  }
  if (!kvm) {
    if (debug) std::fprintf(stderr, "ferry-stage1 run: no usable KVM (%s): TCG\n", why.c_str());
    return "tcg";
  }
  // A probe per boot of the host and per guest kernel.
  struct stat st {};
  ::stat(guest.kernel.c_str(), &st);
  std::string bootId;
  try {
    bootId = readFile("/proc/sys/kernel/random/boot_id", 256);
  } catch (const std::exception&) {
  }
  fs::path record =
      "/run/ferry/kvm-accel-" + hex(std::to_string(std::hash<std::string>{}(
                                    bootId + guest.kernel.string() + std::to_string(st.st_ino) +
                                    ":" + std::to_string(st.st_mtim.tv_sec))));
  try {
    std::string known = readFile(record, 16);
    if (known == "kvm" || known == "tcg") return known;
  } catch (const std::exception&) {
  }
  int timeout = static_cast<int>(envNumber("FERRY_KVM_PROBE_TIMEOUT", 30));
  std::string accel = probe(guest, "kvm", timeout) ? "kvm" : "tcg";
  if (debug) {
    std::fprintf(stderr, "ferry-stage1 run: a guest under KVM %s: %s\n",
                 accel == "kvm" ? "booted" : "did not boot", accel.c_str());
  }
  std::error_code ec;
  fs::create_directories(record.parent_path(), ec);
  try {
    writeFileAtomic(record, accel, 0600, Sync::kAtomic);
  } catch (const std::exception&) {
  }
  return accel;
}

// QEMU without privileges: its own uid and gid (kQemuIdBase + its PID, owning nothing on the
// host), no supplementary group but /dev/kvm's when it needs KVM, an empty bounding set, no
// capabilities, no_new_privs; the parent-death signal again (a change of credentials clears
// it).
void dropQemuPrivileges(const std::string& accel, pid_t parent) {
  uint32_t id = kQemuIdBase + static_cast<uint32_t>(::getpid());
  std::vector<gid_t> groups;
  struct stat st;
  if (accel == "kvm" && ::stat("/dev/kvm", &st) == 0 && st.st_gid != 0) {
    groups.push_back(st.st_gid);
  }
  for (int cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      throwErrno("drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
  if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(id, id, id) != 0 ||
      ::setresuid(id, id, id) != 0) {
    throwErrno("change QEMU's user to " + std::to_string(id));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    throwErrno("set no_new_privs and the parent-death signal");
  }
  if (::getppid() != parent) ::_exit(kOwnFailure);
}

// QEMU serving 9p in passthrough mode: the files' owners, modes and file capabilities, and
// FIFOs (a device node needs CAP_MKNOD of the host's namespace, which it has not).
constexpr int kQemu9pCaps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,
                               CAP_FSETID, CAP_MKNOD,        CAP_SETFCAP};

void enterQemuUserns(int unshared, int mapped, pid_t parent) {
  if (::setgroups(0, nullptr) != 0) throwErrno("drop QEMU's supplementary groups");
  if (::unshare(CLONE_NEWUSER) != 0) throwErrno("create a user namespace for QEMU");
  char go = 0;
  if (::write(unshared, "u", 1) != 1 || ::read(mapped, &go, 1) != 1 || go != 'm') {
    throw Error(Errc::kIo, "cannot map QEMU's user namespace: the run process did not");
  }
  ::close(unshared);
  ::close(mapped);
  for (int cap = 0; cap < 64; ++cap) {
    bool keep =
        std::find(std::begin(kQemu9pCaps), std::end(kQemu9pCaps), cap) != std::end(kQemu9pCaps);
    if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      throwErrno("drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    throwErrno("set no_new_privs and the parent-death signal");
  }
  if (::getppid() != parent) ::_exit(kOwnFailure);
}

void mapIdentity(pid_t pid) {
  for (const char* map : {"uid_map", "gid_map"}) {
    fs::path file = fs::path("/proc") / std::to_string(pid) / map;
    UniqueFd fd = openFile(file, O_WRONLY | O_CLOEXEC);
    writeAll(fd.get(), "0 0 4294967295\n", 15, file.string());
  }
}

}  // namespace ferry::stage1::kvm
