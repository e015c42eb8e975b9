#include "stage1/ns/private_root.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iterator>
#include <set>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "stage1/common/resources.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// appc OS-SPEC.md's devices: stage2 binds them from here where mknod is refused.
constexpr const char* kDefaultDevices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                           "/dev/random", "/dev/urandom", "/dev/tty"};

bool isBind(const json::Json& m) {
  if (m.value("type", "") == "bind") return true;
  if (m.contains("options") && m["options"].is_array()) {
    for (const auto& o : m["options"]) {
      if (o.is_string() && (o == "bind" || o == "rbind")) return true;
    }
  }
  return false;
}

bool under(const fs::path& p, const fs::path& dir) {
  const std::string& a = p.native();
  const std::string& b = dir.native();
  if (b == "/") return true;
  return a.size() >= b.size() && a.compare(0, b.size(), b) == 0 &&
         (a.size() == b.size() || a[b.size()] == '/');
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

enum class Kind { kTree, kReadOnly, kPlain, kDevice };

struct Entry {
  fs::path at;  // absolute, lexically normal
  Kind kind;
  UniqueFd source;  // a detached copy of the mount (tree), or O_PATH (a device)
  bool dir = false;
  mode_t type = 0;
  dev_t rdev = 0;
  bool handed = false;
};

// open_tree(2) with OPEN_TREE_CLONE: a detached copy of what is mounted at path (and below it
// when recursive), a snapshot taken now, which move_mount(2) attaches later. Copies taken before
// the tmpfs exists can never contain it, whatever their order.
int cloneTree(const fs::path& path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  return static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, path.c_str(), flags));
}

// Opens (kDevice) or copies (the others) a host path; nothing when it does not exist (what needs
// it reports that, as it would without a private root).
// `from`: where to take it (by default `path`); `handed`: a detached mount to use as it is.
bool addEntry(std::vector<Entry>& out, const fs::path& path, Kind kind, const char* from = nullptr,
              int handed = -1) {
  if (!path.is_absolute()) return false;
  const char* source = from != nullptr ? from : path.c_str();
  UniqueFd fd(handed >= 0             ? ::fcntl(handed, F_DUPFD_CLOEXEC, 0)
              : kind == Kind::kDevice ? ::open(source, O_PATH | O_CLOEXEC)
                                      : cloneTree(source, kind == Kind::kTree));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throwErrno("open " + quote(path.string()));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(path.string()));
  fs::path at = path.lexically_normal();
  if (at.native().size() > 1 && at.native().back() == '/') at = at.parent_path();
  if (at == "/") {
    throw Error(Errc::kUnsupported, "the host's root " + quote(path.string()) +
                                        " cannot be part of the pod init's root");
  }
  // The fresh /proc replaces anything below it.
  if (under(at, "/proc")) return false;
  Entry e{at,         kind,       std::move(fd), S_ISDIR(st.st_mode), st.st_mode & S_IFMT,
          st.st_rdev, handed >= 0};
  out.push_back(std::move(e));
  return true;
}

// The tmpfs being built: its root, its device, where something is mounted in it (any entry
// attached, a host tree or a file), and the directories made in it (relative paths).
struct Tmpfs {
  int root = -1;
  dev_t dev = 0;
  std::vector<fs::path> mounted;
  std::set<std::string> made;

  // Whether rel lies wholly in the tmpfs itself: no mount at or above it.
  bool own(const fs::path& rel) const {
    return std::none_of(mounted.begin(), mounted.end(),
                        [&](const fs::path& m) { return under(rel, m); });
  }
  // rel and its parents as directories, each one mkdirat from the root unless made already
  // (EEXIST fine); for an own() path only, whose components are all the tmpfs's.
  void makeDirs(const fs::path& rel) {
    fs::path prefix;
    for (const fs::path& part : rel) {
      prefix /= part;
      if (made.count(prefix.native()) != 0) continue;
      if (::mkdirat(root, prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        throwErrno("create " + quote("/" + prefix.string()) + " in the pod init's root");
      }
      made.insert(prefix.native());
    }
  }
};

UniqueFd openBeneath(int root, const fs::path& rel, const fs::path& at, uint64_t resolve) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | resolve;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how)));
  if (!fd && errno == ELOOP) {
    throw Error(Errc::kSecurity,
                "cannot mount on " + quote(at.string()) + " in the pod init's root: a symlink");
  }
  return fd;
}

// The mount point for `at` in the tmpfs, created where missing — only ever inside the tmpfs
// itself: below a mirrored host tree it must exist already (nothing is ever created on the host),
// and no component may be a symlink.
//   - A path with no mount at or above it lies wholly in the tmpfs, which holds only what this
//     function made (directories, files to mount on) and the device nodes, and which no other
//     process sees yet: each missing directory is made from the root in one mkdirat (EEXIST
//     fine), then the mount point is opened in one openat2 that crosses no mount
//     (RESOLVE_NO_XDEV) and follows no symlink.
//   - Else one lookup when the path is there (a mirrored host tree's): RESOLVE_NO_SYMLINKS refuses
//     a symlink anywhere on the way (ELOOP), RESOLVE_BENEATH any way out of the root; else its
//     parent's mount point, which must be the tmpfs's, then the missing entry made in it.
UniqueFd mountPoint(Tmpfs& t, const fs::path& at, bool dir) {
  fs::path rel = at.lexically_normal().relative_path();
  while (!rel.empty() && !rel.has_filename()) rel = rel.parent_path();  // "a/b/" is "a/b"
  if (rel.empty()) {
    UniqueFd fd(::openat(t.root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throwErrno("open the pod init's root");
    return fd;
  }
  for (const fs::path& part : rel) {
    if (part == "." || part == "..") {
      throw Error(Errc::kInvalid, "not a mount point: " + quote(at.string()));
    }
  }
  if (t.own(rel)) {
    if (dir) {
      t.makeDirs(rel);
    } else {
      t.makeDirs(rel.parent_path());
      if (::mknodat(t.root, rel.c_str(), S_IFREG | 0644, 0) != 0 && errno != EEXIST) {
        throwErrno("create " + quote(at.string()));
      }
    }
    UniqueFd fd = openBeneath(t.root, rel, at, RESOLVE_NO_XDEV);
    if (!fd) throwErrno("open " + quote(at.string()) + " in the pod init's root");
    return fd;
  }
  UniqueFd fd = openBeneath(t.root, rel, at, 0);
  if (fd) return fd;
  if (errno != ENOENT) throwErrno("open " + quote(at.string()) + " in the pod init's root");
  fs::path name = rel.filename();
  UniqueFd parent = mountPoint(t, fs::path("/") / rel.parent_path(), true);
  struct stat st;
  if (::fstat(parent.get(), &st) != 0) throwErrno("stat a directory of the pod init's root");
  if (st.st_dev != t.dev) {
    throw Error(Errc::kIo, "cannot create the mount point " + quote(at.string()) +
                               " inside a host directory of the pod init's root");
  }
  int rc = dir ? ::mkdirat(parent.get(), name.c_str(), 0755)
               : ::mknodat(parent.get(), name.c_str(), S_IFREG | 0644, 0);
  if (rc != 0 && errno != EEXIST) throwErrno("create " + quote(at.string()));
  fd = UniqueFd(::openat(parent.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throwErrno("open " + quote(at.string()) + " in the pod init's root");
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(at.string()));
  if (S_ISLNK(st.st_mode)) {
    throw Error(Errc::kSecurity,
                "cannot mount on " + quote(at.string()) + " in the pod init's root: a symlink");
  }
  return fd;
}

void attach(int tree, int target, const fs::path& at) {
  if (::syscall(SYS_move_mount, tree, "", target, "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    throwErrno("bind " + quote(at.string()) + " into the pod init's root");
  }
}

void pivotInto(int rootFd) {
  UniqueFd oldRoot(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!oldRoot) throwErrno("open the old root");
  if (::fchdir(rootFd) != 0) throwErrno("enter the pod init's root");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    // An initramfs root cannot be pivoted away from: move the new root over it and chroot.
    if (errno != EINVAL) throwErrno("pivot_root into the pod init's root");
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) {
      throwErrno("move the pod init's root onto \"/\"");
    }
    if (::chroot(".") != 0) throwErrno("chroot into the pod init's root");
  } else {
    if (::fchdir(oldRoot.get()) != 0) throwErrno("enter the old root");
    if (::umount2(".", MNT_DETACH) != 0) throwErrno("detach the old root");
  }
  if (::chdir("/") != 0) throwErrno("enter the pod init's root");
}

}  // namespace

PrivateRootPlan planPrivateRoot(const fs::path& podDir, const std::vector<RuntimeApp>& apps) {
  PrivateRootPlan plan;
  plan.podDir = podDir;
  for (const char* d : kDefaultDevices) plan.devices.emplace_back(d);
  for (const RuntimeApp& app : apps) {
    const json::Json& doc = appConfigJson(podDir, app.name);
    if (!doc.is_object()) continue;  // stage2 names what is wrong with it
    if (doc.contains("mounts") && doc["mounts"].is_array()) {
      for (const json::Json& m : doc["mounts"]) {
        if (!m.is_object() || !isBind(m) || !m.contains("source") || !m["source"].is_string()) {
          continue;
        }
        fs::path source = m["source"].get<std::string>();
        if (source.is_absolute() && !under(source.lexically_normal(), podDir)) {
          plan.sources.push_back(source);
        }
      }
    }
    if (doc.contains("linux") && doc["linux"].is_object() && doc["linux"].contains("devices") &&
        doc["linux"]["devices"].is_array()) {
      for (const json::Json& d : doc["linux"]["devices"]) {
        if (d.is_object() && d.contains("path") && d["path"].is_string()) {
          fs::path p = d["path"].get<std::string>();
          if (p.is_absolute() &&
              std::find(plan.devices.begin(), plan.devices.end(), p) == plan.devices.end()) {
            plan.devices.push_back(p);
          }
        }
      }
    }
  }
  return plan;
}

void enterPrivateRoot(const PrivateRootPlan& plan) {
  // Everything is opened, and every tree copied, in the host's view first: the tmpfs then goes
  // over the pod directory.
  // The pod directory is the working directory (a user namespace's root may not walk the host
  // path to it).
  std::vector<Entry> entries;
  addEntry(entries, plan.podDir, Kind::kTree, ".");
  auto handed = [&](const fs::path& p) {
    auto it = plan.handed.find(p);
    return it == plan.handed.end() ? -1 : it->second;
  };
  for (const fs::path& p : plan.sources) addEntry(entries, p, Kind::kTree, nullptr, handed(p));
  for (const fs::path& p : plan.binaries) addEntry(entries, p, Kind::kReadOnly, nullptr, handed(p));
  for (const fs::path& p : plan.cgroupMounts) addEntry(entries, p, Kind::kReadOnly);
  if (!plan.journalFrom.empty()) {
    addEntry(entries, plan.journalAt, Kind::kReadOnly, plan.journalFrom.c_str());
  }
  for (const fs::path& p : plan.cgroups) addEntry(entries, p, Kind::kPlain);
  for (const fs::path& p : plan.devices) {
    if (addEntry(entries, p, Kind::kDevice) && !S_ISCHR(entries.back().type) &&
        !S_ISBLK(entries.back().type)) {
      entries.pop_back();
    }
  }
  if (plan.terminal && ::isatty(STDIN_FILENO)) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/fd/0", buf, sizeof buf - 1);
    struct stat in;
    if (n > 0 && buf[0] == '/' && ::fstat(STDIN_FILENO, &in) == 0 &&
        addEntry(entries, std::string(buf, static_cast<size_t>(n)), Kind::kPlain) &&
        entries.back().rdev != in.st_rdev) {
      entries.pop_back();
    }
  }
  // Parents before children: a tree's content is visible through it, and nothing below it is
  // mounted again or created on the host.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.at < b.at; });

  // A tmpfs over the pod directory (the working directory), made detached and then attached:
  // its descriptor is the root, whatever a path walk to it would need.
  UniqueFd fsFd(static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
  if (!fsFd) throwErrno("create the pod init's root (tmpfs)");
  if (::syscall(SYS_fsconfig, fsFd.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
      ::syscall(SYS_fsconfig, fsFd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    throwErrno("create the pod init's root (tmpfs)");
  }
  UniqueFd root(
      static_cast<int>(::syscall(SYS_fsmount, fsFd.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID)));
  if (!root) throwErrno("mount the pod init's root (tmpfs)");
  fsFd.reset();
  if (::syscall(SYS_move_mount, root.get(), "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    throwErrno("mount the pod init's root (tmpfs) on " + quote(plan.podDir.string()));
  }
  struct stat rootSt;
  if (::fstat(root.get(), &rootSt) != 0) throwErrno("stat the pod init's root");
  Tmpfs tmpfs{root.get(), rootSt.st_dev, {}, {}};
  // Attaches a mount at `at` and records it: nothing is ever made below it without a lookup.
  auto mountAt = [&](int tree, const fs::path& at, bool dir) {
    UniqueFd mp = mountPoint(tmpfs, at, dir);
    attach(tree, mp.get(), at);
    tmpfs.mounted.push_back(at.lexically_normal().relative_path());
  };

  std::vector<fs::path> trees;
  for (const Entry& e : entries) {
    bool covered =
        std::any_of(trees.begin(), trees.end(), [&](const fs::path& t) { return under(e.at, t); });
    switch (e.kind) {
      case Kind::kTree: {
        if (covered) break;
        mountAt(e.source.get(), e.at, e.dir);
        trees.push_back(e.at);
        break;
      }
      case Kind::kReadOnly: {
        struct mount_attr attr = {};
        attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        // A handed mount is read-only already (the parent's own, which only it may change).
        if (!e.handed && ::syscall(SYS_mount_setattr, e.source.get(), "", AT_EMPTY_PATH, &attr,
                                   sizeof attr) != 0) {
          throwErrno("make " + quote(e.at.string()) + " read-only in the pod init's root");
        }
        mountAt(e.source.get(), e.at, e.dir);
        break;
      }
      case Kind::kPlain: {
        mountAt(e.source.get(), e.at, e.dir);
        break;
      }
      case Kind::kDevice: {
        if (covered) break;  // a host tree holding it is there already
        // In the tmpfs's own directories, made from its root (no lookup of each).
        fs::path rel = e.at.relative_path();
        UniqueFd parent;
        int at = tmpfs.root;
        std::string name = rel.string();
        if (tmpfs.own(rel)) {
          tmpfs.makeDirs(rel.parent_path());
        } else {
          parent = mountPoint(tmpfs, e.at.parent_path(), true);
          at = parent.get();
          name = e.at.filename();
        }
        if (::mknodat(at, name.c_str(), e.type | 0666, e.rdev) == 0) break;
        if (errno == EEXIST) break;
        if (errno != EPERM) throwErrno("create " + quote(e.at.string()));
        // mknod refused (a device cgroup, a user namespace): bind the host's node.
        UniqueFd node(::syscall(SYS_open_tree, e.source.get(), "",
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
        if (!node) throwErrno("bind the host's " + quote(e.at.string()));
        mountAt(node.get(), e.at, false);
        break;
      }
    }
  }
  UniqueFd proc = mountPoint(tmpfs, "/proc", true);
  if (::mount("proc", fdPath(proc.get()).c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
    throwErrno("mount /proc in the pod init's root");
  }
  proc.reset();
  if (plan.sysfs) {
    // Read-only, as every app mounts its own (the kernel then lets those be read-only too).
    UniqueFd sys = mountPoint(tmpfs, kPrivateRootSysfs, true);
    if (::mount("sysfs", fdPath(sys.get()).c_str(), "sysfs",
                MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      throwErrno("mount a sysfs in the pod init's root");
    }
  } else if (plan.hostSysfs) {
    UniqueFd tree(cloneTree("/sys", true));
    if (!tree) throwErrno("clone the host's /sys");
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                  sizeof attr) != 0) {
      throwErrno("make the host's /sys read-only in the pod init's root");
    }
    mountAt(tree.get(), kPrivateRootSysfs, true);
  }
  if (::mount(nullptr, fdPath(root.get()).c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID,
              nullptr) != 0) {
    throwErrno("make the pod init's root read-only");
  }
  pivotInto(root.get());
  if (::chdir(plan.podDir.c_str()) != 0) throwErrno("enter " + quote(plan.podDir.string()));
}

}  // namespace ferry::stage1
