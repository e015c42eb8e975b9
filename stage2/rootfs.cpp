#include "stage2/rootfs.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/oci/sysctl.hpp"
#include "stage2/cgroup_mount.hpp"
#include "stage2/in_root.hpp"
#include "stage2/mount_options.hpp"

namespace ferry::stage2 {

namespace {

namespace fs = std::filesystem;

// Flags of an existing mount that a bind remount must carry over: the kernel refuses to clear
// the locked ones in a user namespace, and ferry never lets an app gain suid, dev or exec rights
// its volume's source mount does not have. The atime mode is kept as it is.
unsigned long carriedFlags(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) throwErrno("statvfs");
  unsigned long out = 0;
  if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) out |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

unsigned long carriedFlags(const char* path) {
  UniqueFd fd(open(path, O_PATH | O_CLOEXEC));
  if (!fd) throwErrno("open " + quote(path));
  return carriedFlags(fd.get());
}

bool sameInode(int a, int b) {
  struct stat sa, sb;
  if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) throwErrno("stat a mount destination");
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int sysMountSetattr(int dfd, const char* path, unsigned flags, struct mount_attr* attr) {
  return static_cast<int>(syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}

struct DefaultDevice {
  const char* path;
  unsigned major;
  unsigned minor;
};

// appc OS-SPEC.md "Devices and File Systems" (console, pts, ptmx and shm are handled apart).
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

std::string where(const std::string& destination) { return quote(destination); }

// Where a whole sysfs is mounted in this mount namespace, or "".
std::string visibleSysfs() {
  std::string text = readFile("/proc/self/mountinfo", 4 << 20);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    // id parent major:minor root mount-point options [optional…] - type source super-options
    std::vector<std::string_view> f;
    for (size_t pos = 0; pos <= line.size();) {
      size_t next = line.find(' ', pos);
      if (next == std::string_view::npos) next = line.size();
      f.push_back(line.substr(pos, next - pos));
      pos = next + 1;
    }
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] == "sysfs" && f[3] == "/") return unescapeMountinfo(f[4]);
  }
  return "";
}

}  // namespace

Rootfs::Rootfs(fs::path bundle, fs::path rootPath) : bundle_(std::move(bundle)) {
  root_ = rootPath.is_absolute() ? rootPath : fs::absolute(bundle_ / rootPath);
}

void Rootfs::enter() {
  if (unshare(CLONE_NEWNS) != 0) throwErrno("create the app's mount namespace");
  // Nothing mounted from here on may propagate back to the pod's (or the host's) namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    throwErrno("make the mounts private");
  }
  // pivot_root needs the new root to be a mount point; the bind also keeps the bundle's own
  // mounts (the overlay) intact while this namespace stacks things on it.
  if (::mount(root_.c_str(), root_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    throwErrno("bind the root filesystem " + quote(root_.string()) + " onto itself");
  }
  rootFd_ = UniqueFd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootFd_) throwErrno("open the root filesystem " + quote(root_.string()));
}

void Rootfs::mount(const oci::Mount& m, const std::vector<oci::LinuxDevice>& devices,
                   bool terminal) {
  const std::string type = m.type.value_or("");
  MountOptions opts = parseMountOptions(m.options);
  if (type == "bind") opts.bind = true;
  const std::string& dest = m.destination;
  std::string what =
      "mount " +
      (opts.bind ? "a bind of " + quote(m.source.value_or("?")) : (type.empty() ? "?" : type)) +
      " on " + where(dest);
  if (dest.empty() || dest[0] != '/') {
    throw Error(Errc::kInvalid, "cannot " + what + ": the destination is not an absolute path");
  }
  // proc and sysfs expose the host's kernel: they go on real directories only (runc refuses a
  // symlinked /proc for the same reason).
  Follow follow = (type == "proc" || type == "sysfs" || type == "cgroup") ? Follow::kNoSymlinks
                                                                          : Follow::kInRoot;

  auto reopen = [&] {
    UniqueFd fd = openInRoot(rootFd_.get(), dest, O_PATH, follow);
    if (!fd) throwErrno(what + " (resolving the destination again)");
    return fd;
  };

  UniqueFd target;
  try {
    if (opts.bind) {
      if (!m.source || m.source->empty()) {
        throw Error(Errc::kInvalid, "a bind mount needs a source");
      }
      if (!opts.data.empty()) {
        throw Error(Errc::kInvalid, "option(s) " + quote(opts.data) + " mean nothing to a bind");
      }
      fs::path source = *m.source;
      if (source.is_relative()) source = bundle_ / source;
      UniqueFd src(open(source.c_str(), O_PATH | O_CLOEXEC));
      if (!src) throwErrno("open the source " + quote(source.string()));
      struct stat st;
      if (fstat(src.get(), &st) != 0) throwErrno("stat the source " + quote(source.string()));
      target = createInRoot(rootFd_.get(), dest, S_ISDIR(st.st_mode), follow);
      if (sameInode(target.get(), rootFd_.get())) {
        throw Error(Errc::kSecurity, "the destination resolves to the app's root itself");
      }
      unsigned long flags = MS_BIND | (opts.recursive ? MS_REC : 0);
      if (::mount(fdPath(src.get()).c_str(), fdPath(target.get()).c_str(), nullptr, flags,
                  nullptr) != 0) {
        throwErrno("bind");
      }
      unsigned long extra = opts.flags & ~MS_REMOUNT;
      if (extra != 0) {
        UniqueFd top = reopen();
        unsigned long re = MS_REMOUNT | MS_BIND | extra | carriedFlags(top.get());
        if (::mount(nullptr, fdPath(top.get()).c_str(), nullptr, re, nullptr) != 0) {
          throwErrno("remount with the options");
        }
        if (opts.recursive && (extra & MS_RDONLY)) {
          // MS_REMOUNT changes the top mount only; submounts of an rbind become read-only
          // through mount_setattr (Linux 5.12).
          struct mount_attr attr = {};
          attr.attr_set = MOUNT_ATTR_RDONLY;
          if (sysMountSetattr(top.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0 &&
              errno != ENOSYS) {
            throwErrno("make the submounts read-only");
          }
        }
      }
    } else if (type == "cgroup") {
      // The app's own cgroups, read-only (cgroup_mount.hpp): never the host's.
      target = createInRoot(rootFd_.get(), dest, true, follow);
      if (sameInode(target.get(), rootFd_.get())) {
        throw Error(Errc::kSecurity, "the destination resolves to the app's root itself");
      }
      mountOwnCgroups(target.get(), dest);
    } else {
      if (type.empty()) throw Error(Errc::kInvalid, "the mount has no type");
      target = createInRoot(rootFd_.get(), dest, true, follow);
      if (sameInode(target.get(), rootFd_.get())) {
        throw Error(Errc::kSecurity, "the destination resolves to the app's root itself");
      }
      std::string source = m.source.value_or(type);
      if (::mount(source.c_str(), fdPath(target.get()).c_str(), type.c_str(),
                  opts.flags & ~MS_REMOUNT, opts.data.empty() ? nullptr : opts.data.c_str()) != 0) {
        // A user namespace that does not own the network namespace (a pod in one with
        // --net=host) may not mount a sysfs: the one its mount namespace holds (the pod init's
        // root has the host's /sys, read-only) is bound instead, as runc does rootless.
        std::string visible;
        if (errno != EPERM || type != "sysfs" || (visible = visibleSysfs()).empty()) {
          throwErrno("mount");
        }
        if (::mount(visible.c_str(), fdPath(target.get()).c_str(), nullptr, MS_BIND | MS_REC,
                    nullptr) != 0) {
          throwErrno("bind the sysfs at " + quote(visible));
        }
        UniqueFd top = reopen();
        unsigned long re = MS_REMOUNT | MS_BIND |
                           (opts.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) |
                           carriedFlags(top.get());
        if (::mount(nullptr, fdPath(top.get()).c_str(), nullptr, re, nullptr) != 0) {
          throwErrno("remount the bound sysfs with the options");
        }
      }
    }
    for (unsigned long p : opts.propagation) {
      UniqueFd top = reopen();
      if (::mount(nullptr, fdPath(top.get()).c_str(), nullptr, p, nullptr) != 0) {
        throwErrno("change the propagation");
      }
    }
  } catch (const std::system_error& e) {
    // "cannot bind: Permission denied" → "cannot mount … on "/x": cannot bind: …"
    throw Error(Errc::kIo, "cannot " + what + ": " + e.what());
  } catch (const Error& e) {
    throw Error(e.code(), "cannot " + what + ": " + e.what());
  }
  if (!opts.bind && type == "tmpfs" && cleanRelative(dest) == "dev") {
    try {
      populateDev(devices, terminal);
    } catch (const std::exception& e) {
      throw Error(Errc::kIo, "cannot populate " + where(dest) + ": " + e.what());
    }
  }
}

void Rootfs::createDevice(const oci::LinuxDevice& d) {
  fs::path path(d.path);
  std::string base = path.filename();
  if (!path.is_absolute() || base.empty() || base == "." || base == "..") {
    throw Error(Errc::kInvalid, "device path " + quote(d.path) + " is not an absolute file name");
  }
  UniqueFd parent = createInRoot(rootFd_.get(), path.parent_path().string(), true);
  mode_t kind;
  if (d.type == "c" || d.type == "u") {
    kind = S_IFCHR;
  } else if (d.type == "b") {
    kind = S_IFBLK;
  } else if (d.type == "p") {
    kind = S_IFIFO;
  } else {
    throw Error(Errc::kInvalid, "device " + quote(d.path) + " has unknown type " + quote(d.type));
  }
  mode_t mode = static_cast<mode_t>(d.fileMode.value_or(0666)) & 07777;
  dev_t dev = makedev(static_cast<unsigned>(d.major.value_or(0)),
                      static_cast<unsigned>(d.minor.value_or(0)));
  // An entry already there (the image's own /dev without a tmpfs over it) is replaced.
  int made = mknodat(parent.get(), base.c_str(), kind | mode, dev);
  if (made != 0 && errno == EEXIST) {
    if (unlinkat(parent.get(), base.c_str(), 0) != 0 && errno != ENOENT) {
      throwErrno("replace " + quote(d.path));
    }
    made = mknodat(parent.get(), base.c_str(), kind | mode, dev);
  }
  if (made == 0) {
    if (fchownat(parent.get(), base.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                 AT_SYMLINK_NOFOLLOW) != 0) {
      throwErrno("chown " + quote(d.path));
    }
    return;
  }
  if (errno != EPERM || kind == S_IFIFO) throwErrno("create the device " + quote(d.path));
  // mknod is refused (a device cgroup, a user namespace): bind the host's node instead, as
  // runc does. The host node keeps its own owner and mode.
  if (mknodat(parent.get(), base.c_str(), S_IFREG | 0644, 0) != 0) {
    throwErrno("create " + quote(d.path));
  }
  UniqueFd target(openat(parent.get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target) throwErrno("open " + quote(d.path));
  if (::mount(d.path.c_str(), fdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throwErrno("bind the host's " + quote(d.path));
  }
}

void Rootfs::populateDev(const std::vector<oci::LinuxDevice>& devices, bool terminal) {
  for (const DefaultDevice& d : kDefaultDevices) {
    // linux.devices may list the same node (formats/ writes the defaults there too): it wins.
    if (std::any_of(devices.begin(), devices.end(),
                    [&](const oci::LinuxDevice& c) { return c.path == d.path; })) {
      continue;
    }
    oci::LinuxDevice dev;
    dev.type = "c";
    dev.path = d.path;
    dev.major = d.major;
    dev.minor = d.minor;
    dev.fileMode = 0666;
    createDevice(dev);
  }
  for (const oci::LinuxDevice& d : devices) createDevice(d);

  UniqueFd devFd = openInRoot(rootFd_.get(), "/dev", O_PATH | O_DIRECTORY);
  if (!devFd) throwErrno("open /dev");
  for (const char* dir : {"pts", "shm"}) {
    if (mkdirat(devFd.get(), dir, 0755) != 0 && errno != EEXIST) {
      throwErrno("create " + quote(std::string("/dev/") + dir));
    }
  }
  for (const auto& [name, target] : kDevLinks) {
    if (symlinkat(target, devFd.get(), name) != 0 && errno != EEXIST) {
      throwErrno("create the symlink " + quote(std::string("/dev/") + name));
    }
  }
  // /dev/console: the terminal of an interactive app, else /dev/null (the host's console is
  // never exposed).
  UniqueFd console = createInRoot(rootFd_.get(), "/dev/console", false);
  std::string source;
  UniqueFd null;
  if (terminal && isatty(STDIN_FILENO)) {
    // The terminal's own mount lives in the namespace stdin was opened in, from which the
    // kernel refuses to bind: bind its path as this namespace (a copy) sees it, once that path
    // is checked to be the same device.
    char buf[PATH_MAX];
    ssize_t n = readlink(fdPath(STDIN_FILENO).c_str(), buf, sizeof buf - 1);
    if (n <= 0) throwErrno("find the terminal on stdin");
    source.assign(buf, static_cast<size_t>(n));
    struct stat in, at;
    if (fstat(STDIN_FILENO, &in) != 0 || stat(source.c_str(), &at) != 0 || !S_ISCHR(at.st_mode) ||
        at.st_rdev != in.st_rdev) {
      throw Error(Errc::kUnsupported, "cannot find the terminal on stdin (" + quote(source) +
                                          ") in the app's mount namespace");
    }
  } else {
    null = openInRoot(rootFd_.get(), "/dev/null", O_PATH);
    if (!null) throwErrno("open /dev/null");
    source = fdPath(null.get());
  }
  if (::mount(source.c_str(), fdPath(console.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throwErrno("bind /dev/console");
  }
}

void Rootfs::pivot() {
  UniqueFd oldRoot(open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!oldRoot) throwErrno("open the old root");
  if (fchdir(rootFd_.get()) != 0) throwErrno("enter the root filesystem");
  if (syscall(SYS_pivot_root, ".", ".") != 0) {
    // pivot_root refuses an initramfs root: move the new root over "/" and chroot instead.
    if (errno != EINVAL) throwErrno("pivot_root into " + quote(root_.string()));
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) {
      throwErrno("move the root filesystem onto \"/\"");
    }
    if (chroot(".") != 0) throwErrno("chroot into the root filesystem");
  } else {
    // The old root now sits on top of the new one: detach it.
    if (fchdir(oldRoot.get()) != 0) throwErrno("enter the old root");
    if (umount2(".", MNT_DETACH) != 0) throwErrno("detach the old root");
  }
  if (chdir("/") != 0) throwErrno("enter the new root");
  rootFd_.reset();
}

void finishRootfs(const oci::RuntimeSpec& spec) {
  // After pivot_root the kernel resolves every path inside the app's root: plain paths are safe.
  if (spec.linuxConfig) {
    const oci::Linux& l = *spec.linuxConfig;
    for (const auto& [key, value] : l.sysctl) {
      // Only a key the app's own namespaces hold: any other is the host's (formats/oci/sysctl.hpp).
      // stage0 refused it already; config.json may come from elsewhere.
      auto ns = oci::sysctlNamespace(key);
      if (!ns) {
        throw Error(Errc::kSecurity, "cannot set sysctl " + quote(key) +
                                         ": it is not namespaced, so it would change the host");
      }
      bool own = std::any_of(l.namespaces.begin(), l.namespaces.end(),
                             [&](const oci::LinuxNamespace& n) { return n.type == *ns; });
      if (!own) {
        throw Error(Errc::kSecurity, "cannot set sysctl " + quote(key) + ": the app has no " +
                                         std::string(*ns) + " namespace of its own");
      }
      std::string path = "/proc/sys/";
      for (char c : key) path += c == '.' ? '/' : c;
      UniqueFd fd(open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) throwErrno("set sysctl " + key + " (" + quote(path) + ")");
      if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        throwErrno("set sysctl " + key + " to " + quote(value));
      }
    }
    for (const std::string& p : l.readonlyPaths) {
      if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        if (errno == ENOENT) continue;
        throwErrno("make " + quote(p) + " read-only (bind)");
      }
      unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | carriedFlags(p.c_str());
      if (::mount(nullptr, p.c_str(), nullptr, flags, nullptr) != 0) {
        throwErrno("make " + quote(p) + " read-only");
      }
    }
    for (const std::string& p : l.maskedPaths) {
      struct stat st;
      if (stat(p.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) continue;
        throwErrno("mask " + quote(p));
      }
      int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr)
                                   : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
      if (rc != 0) throwErrno("mask " + quote(p));
    }
  }
  if (spec.root && spec.root->readonly.value_or(false)) {
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | carriedFlags("/");
    if (::mount(nullptr, "/", nullptr, flags, nullptr) != 0) {
      throwErrno("make the root filesystem read-only");
    }
  }
}

}  // namespace ferry::stage2
