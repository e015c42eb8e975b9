#include "stage1/kvm/share.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "common/copy_tree.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/idmap.hpp"
#include "common/json.hpp"
#include "common/userns.hpp"
#include "stage1/common/mounts.hpp"
#include "stage1/kvm/vm.hpp"

namespace ferry::stage1::kvm {

namespace fs = std::filesystem;

void mountOrThrow(const char* src, const fs::path& dst, const char* type, unsigned long flags,
                  const char* data) {
  if (::mount(src, dst.c_str(), type, flags, data) != 0) {
    throwErrno(std::string("mount ") + (src ? quote(src) : std::string("")) + " on " +
               quote(dst.string()));
  }
}

// Every bind source of the apps' config.json mounts, with whether every use of it is read-only.
std::map<fs::path, bool> bindSources(const fs::path& podDir, const std::vector<RuntimeApp>& apps) {
  std::map<fs::path, bool> out;
  for (const RuntimeApp& app : apps) {
    fs::path file = podDir / "apps" / app.name / "config.json";
    json::Json doc = json::parse(readFile(file, 16 << 20), file.string());
    if (!doc.is_object() || !doc.contains("mounts") || !doc["mounts"].is_array()) continue;
    for (const json::Json& m : doc["mounts"]) {
      if (!m.is_object() || !m.contains("source") || !m["source"].is_string()) continue;
      bool bind = m.value("type", "") == "bind", ro = false;
      if (m.contains("options") && m["options"].is_array()) {
        for (const auto& o : m["options"]) {
          if (!o.is_string()) continue;
          bind = bind || o == "bind" || o == "rbind";
          ro = ro || o == "ro";
        }
      }
      fs::path source = fs::path(m["source"].get<std::string>()).lexically_normal();
      if (!bind || !source.is_absolute()) continue;
      auto [it, fresh] = out.emplace(source, ro);
      if (!fresh) it->second = it->second && ro;
    }
  }
  return out;
}

namespace {

bool under(const fs::path& p, const fs::path& dir) {
  std::string s = p.lexically_normal().string(), d = dir.string();
  return s == d || s.starts_with(d + "/");
}

// A mount point in the share's tmpfs for `src` (a directory, or an empty file).
fs::path mountPointFor(const fs::path& root, const fs::path& src) {
  fs::path at = root / src.relative_path();
  struct stat st;
  if (::stat(src.c_str(), &st) != 0) throwErrno("stat " + quote(src.string()));
  std::error_code ec;
  fs::create_directories(S_ISDIR(st.st_mode) ? at : at.parent_path(), ec);
  if (ec) throwErrno(ec.value(), "create " + quote(at.string()));
  if (!S_ISDIR(st.st_mode)) {
    UniqueFd fd(::open(at.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throwErrno("create " + quote(at.string()));
  }
  return at;
}

void bindInto(const fs::path& root, const fs::path& src, bool readOnly, bool recursive) {
  fs::path at = mountPointFor(root, src);
  mountOrThrow(src.c_str(), at, nullptr, MS_BIND | (recursive ? MS_REC : 0));
  if (readOnly) {
    mountOrThrow(nullptr, at, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV);
  }
}

// privateUsers: a bind source outside the pod directory (a host volume, the host's /etc/hosts)
// as the pod sees it on ns: a directory idmapped through the pod's range (nosuid, nodev), so
// that a file stored as uid N is START+N to the guest, N in the pod's namespace, and what the
// pod creates there is stored as N; a directory that cannot be idmapped is refused; a file that
// cannot be is shared as it is, read-only.
void bindIdmappedInto(const fs::path& root, const fs::path& src, bool readOnly, int usernsFd) {
  struct stat st;
  if (::stat(src.c_str(), &st) != 0) throwErrno("stat " + quote(src.string()));
  if (std::optional<std::string> why = userns::idmapUnsupported(src, usernsFd)) {
    if (S_ISDIR(st.st_mode)) {
      throw Error(Errc::kUnsupported, "not supported: sharing " + quote(src.string()) +
                                          " with a pod in a user namespace: " + *why);
    }
    bindInto(root, src, true, false);
    return;
  }
  fs::path at = mountPointFor(root, src);
  UniqueFd tree = userns::idmappedTree(src, usernsFd);
  userns::attachTree(tree.get(), at);
  mountOrThrow(nullptr, at, nullptr,
               MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (readOnly ? MS_RDONLY : 0));
}

// privateUsers: each app's rootfs owned by the range, as the guest's pod init (in a user
// namespace of the guest's kernel mapping 0…count-1 to the range) must see it: an overlay over
// the tree idmapped through the range (upper and work already the range root's: sharePodDir),
// or, where the tree cannot be idmapped and with --no-overlay, a copy with its owners shifted
// into the range. The store's tree is never chowned.
void mountAppRootfsInRange(const fs::path& podDir, const RuntimeApp& app, bool overlay,
                           const PrivateUsers& users, int usernsFd) {
  fs::path dir = podDir / "apps" / app.name;
  if (overlay && !userns::idmapUnsupported(app.tree, usernsFd)) {
    UniqueFd tree = userns::idmappedTree(app.tree, usernsFd);
    mountIdmappedOverlay(dir, tree.get());
    return;
  }
  fs::path rootfs = dir / "rootfs";
  removeTree(rootfs);
  copyTree(app.tree, rootfs, {.idShift = users.uid, .idCount = users.count});
}

}  // namespace

void buildShare(const ShareSpec& spec, const fs::path& root) {
  const std::optional<PrivateUsers>& users = spec.rt->privateUsers;
  UniqueFd userns;
  if (users) userns = userns::makeUserns(idmap::IdRange::make(users->uid, users->count));
  for (const RuntimeApp& app : spec.rt->apps) {
    if (users) {
      mountAppRootfsInRange(spec.podDir, app, !spec.rt->noOverlay, *users, userns.get());
    } else {
      mountAppRootfs(spec.podDir / "apps" / app.name, app.tree, !spec.rt->noOverlay);
    }
  }
  mountOrThrow("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m");
  for (const char* d : {"proc", "sys", "dev"}) fs::create_directory(root / d);
  // The pod directory, read-only and without its mounts; then what the guest writes.
  fs::path pod = mountPointFor(root, spec.podDir);
  mountOrThrow(spec.podDir.c_str(), pod, nullptr, MS_BIND);
  mountOrThrow(nullptr, pod, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV);
  for (const char* d : {"status", "logs"}) bindInto(root, spec.podDir / d, false, false);
  for (const RuntimeApp& app : spec.rt->apps) {
    bindInto(root, spec.podDir / "apps" / app.name / "rootfs", false, true);
  }
  for (const auto& [src, readOnly] : spec.sources) {
    if (under(src, spec.podDir)) {
      if (under(src, spec.podDir / "volumes")) bindInto(root, src, readOnly, true);
      continue;  // etc/hosts, etc/resolv.conf: read-only with the pod directory
    }
    if (src == "/") throw Error(Errc::kSecurity, "cannot share the host's / with a pod");
    if (users) {
      bindIdmappedInto(root, src, readOnly, userns.get());
    } else {
      bindInto(root, src, readOnly, true);
    }
  }
  bindInto(root, spec.init, true, false);
  bindInto(root, spec.stage2, true, false);
  if (::access(spec.guestEnter.c_str(), X_OK) == 0) bindInto(root, spec.guestEnter, true, false);
  if (spec.netConfig) writeFileAtomic(root / kNetConfig, *spec.netConfig, 0644, Sync::kAtomic);
  // The flavor's own state is not the guest's to see.
  mountOrThrow("tmpfs", pod / kStateDir, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY,
               "mode=0700,size=4k");
  mountOrThrow(nullptr, root, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
               "mode=0755,size=1m");
}

// virtiofsd on the share, serving the listening socket made here (fs.sock in the current
// directory) as its descriptor 3. Given a --socket-path instead, virtiofsd locks a pid file
// named after that path in one directory for the whole host, so two pods' "fs.sock" collided
// and the second pod failed to start.
//
// With the least privilege it can serve the share with: in a user namespace of its own whose
// ids are the host's (it serves each file as its owner, so it needs every id mapped and the
// file capabilities over them), its capabilities only those of that namespace and only the
// ones it uses (kVirtiofsdCaps: the files' owners and modes, and its own sandbox's mount, PID
// and network namespaces and pivot_root), no_new_privs, no supplementary group. Nothing it
// does then counts on the host beyond the share's files: no mount, module, device node,
// network or process of the host's, even if it were made to try; and the mounts it gets are
// locked as the share has them (read-only stays read-only, kvm/ stays hidden).
constexpr int kVirtiofsdCaps[] = {CAP_CHOWN,     CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,
                                  CAP_SETGID,    CAP_SETUID,       CAP_SETPCAP, CAP_MKNOD,
                                  CAP_SYS_ADMIN, CAP_SETFCAP};
void startVirtiofsd(const fs::path& virtiofsd, const fs::path& root) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throwErrno("create virtiofsd's socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", kFsSocket);
  ::unlink(kFsSocket);
  if (::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(sock.get(), 1) != 0) {
    throwErrno("listen on " + quote(kFsSocket));
  }
  // Its open-file limit as it would set it (it cannot raise it in its user namespace).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    rlim_t want = 1000000;
    try {
      long long max = std::stoll(readFile("/proc/sys/fs/file-max", 64)) - 16384;
      if (max > 0 && static_cast<rlim_t>(max) < want) want = static_cast<rlim_t>(max);
    } catch (const std::exception&) {
    }
    if (files.rlim_cur < want) {
      rlimit raised{want, std::max(want, files.rlim_max)};
      ::setrlimit(RLIMIT_NOFILE, &raised);  // as before when it cannot: virtiofsd's limit
    }
  }
  // It unshares its user namespace (says 'u'), then we map it (say 'm').
  int mapped[2], unshared[2];
  if (::pipe2(mapped, O_CLOEXEC) != 0 || ::pipe2(unshared, O_CLOEXEC) != 0) {
    throwErrno("create a pipe");
  }
  UniqueFd mappedRead(mapped[0]), mappedWrite(mapped[1]);
  UniqueFd unsharedRead(unshared[0]), unsharedWrite(unshared[1]);
  pid_t pid = ::fork();
  if (pid < 0) throwErrno("fork");
  if (pid == 0) {
    pid_t parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log = ::open("virtiofsd.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0 ||
        ::dup2(sock.get(), 3) < 0) {
      ::_exit(127);
    }
    auto die = [](const char* what) {
      std::fprintf(stderr, "ferry-stage1 run: cannot %s for virtiofsd: %s\n", what,
                   std::strerror(errno));
      ::_exit(127);
    };
    mappedWrite.reset();
    unsharedRead.reset();
    char go = 0;
    if (::setgroups(0, nullptr) != 0) die("drop the supplementary groups");
    if (::unshare(CLONE_NEWUSER) != 0) die("create a user namespace");
    if (::write(unsharedWrite.get(), "u", 1) != 1) ::_exit(127);
    // The parent maps it (the host's ids, one to one); EOF without 'm': it could not.
    if (::read(mappedRead.get(), &go, 1) != 1 || go != 'm') ::_exit(127);
    for (int cap = 0; cap < 64; ++cap) {
      bool keep = std::find(std::begin(kVirtiofsdCaps), std::end(kVirtiofsdCaps), cap) !=
                  std::end(kVirtiofsdCaps);
      if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
        die("drop a capability from the bounding set");
      }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("set no_new_privs");
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("set the parent-death signal");
    if (::getppid() != parent) ::_exit(127);
    ::close_range(4, ~0U, 0);  // QEMU's taps are not virtiofsd's
    std::string src = "source=" + root.string();
    const char* argv[] = {
        virtiofsd.c_str(),   "--fd=3", "-o", src.c_str(), "-o", "cache=auto", "-o", "xattr", "-o",
        "sandbox=namespace", nullptr};
    const char* envp[] = {nullptr};
    ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    ::_exit(127);
  }
  sock.reset();
  mappedRead.reset();
  unsharedWrite.reset();
  auto endedAtStart = [&](const std::string& why) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::string log;
    try {
      log = readFile("virtiofsd.log", 4096);
      while (!log.empty() && log.back() == '\n') log.pop_back();
    } catch (const std::exception&) {
    }
    return Error(Errc::kIo, "virtiofsd ended at its start: " + why + log);
  };
  char said = 0;
  while (::read(unsharedRead.get(), &said, 1) < 0 && errno == EINTR) {
  }
  if (said != 'u') throw endedAtStart("");
  try {
    mapIdentity(pid);
  } catch (const std::exception& e) {
    throw endedAtStart(std::string("cannot map its user namespace: ") + e.what() + " ");
  }
  if (::write(mappedWrite.get(), "m", 1) != 1) throw endedAtStart("");
  mappedWrite.reset();
  // A virtiofsd that cannot start says so at once; one that started serves the socket.
  for (int i = 0; i < 20; ++i) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) throw endedAtStart("");
    ::usleep(1000);
  }
}

}  // namespace ferry::stage1::kvm
