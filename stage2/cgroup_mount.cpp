#include "stage2/cgroup_mount.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::stage2 {

namespace {

// The inode of the initial cgroup namespace (include/linux/proc_ns.h PROC_CGROUP_INIT_INO).
constexpr ino_t kInitialCgroupNamespace = 0xEFFFFFFBU;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos <= s.size();) {
    size_t next = s.find(sep, pos);
    if (next == std::string_view::npos) next = s.size();
    out.push_back(s.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (std::string_view l : split(text, '\n')) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
  for (std::string_view x : v) {
    if (x == s) return true;
  }
  return false;
}

// The directory of a hierarchy below the tmpfs: its controllers ("cpu,cpuacct"), a named one's
// name ("name=systemd" → "systemd"), as systemd lays them out.
std::string dirName(const CgroupLine& h) {
  if (h.controllers.empty()) return "unified";
  if (h.controllers.rfind("name=", 0) == 0 && h.controllers.find(',') == std::string::npos) {
    return h.controllers.substr(5);
  }
  return h.controllers;
}

UniqueFd fsOpen(const char* type) {
  return UniqueFd(static_cast<int>(::syscall(SYS_fsopen, type, FSOPEN_CLOEXEC)));
}

int fsConfig(int fd, unsigned cmd, const char* key, const char* value) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, 0));
}

// A detached mount of the filesystem `fs` (configured), read-only, nosuid, nodev, noexec.
UniqueFd mountOf(int fs) {
  if (fsConfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0) return UniqueFd();
  return UniqueFd(static_cast<int>(
      ::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
}

// A fresh mount of a hierarchy: in this cgroup namespace, its root is the namespace's.
UniqueFd hierarchyMount(const CgroupLine& h) {
  UniqueFd fs = fsOpen(h.controllers.empty() ? "cgroup2" : "cgroup");
  if (!fs || fsConfig(fs.get(), FSCONFIG_SET_STRING, "source", "cgroup") != 0) return UniqueFd();
  if (!h.controllers.empty()) {
    for (std::string_view c : split(h.controllers, ',')) {
      std::string token(c);
      int rc = token.rfind("name=", 0) == 0
                   ? fsConfig(fs.get(), FSCONFIG_SET_STRING, "name", token.c_str() + 5)
                   : fsConfig(fs.get(), FSCONFIG_SET_FLAG, token.c_str(), nullptr);
      if (rc != 0) return UniqueFd();
    }
  }
  return mountOf(fs.get());
}

void attach(int mount, int target, const std::string& what) {
  if (::syscall(SYS_move_mount, mount, "", target, "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    throwErrno("attach " + what);
  }
}

}  // namespace

std::vector<CgroupLine> mountedHierarchies(std::string_view procSelfCgroup,
                                           std::string_view mountinfo) {
  bool v2Mounted = false;
  std::vector<std::vector<std::string_view>> v1Options;
  for (std::string_view line : lines(mountinfo)) {
    // id parent major:minor root mount-point options [optional…] - type source super-options
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> f = split(line.substr(dash + 3), ' ');
    if (f.size() < 3) continue;
    if (f[0] == "cgroup2") v2Mounted = true;
    if (f[0] == "cgroup") v1Options.push_back(split(f[2], ','));
  }
  std::vector<CgroupLine> out;
  for (std::string_view line : lines(procSelfCgroup)) {
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    CgroupLine h;
    h.id = std::atoi(std::string(line.substr(0, a)).c_str());
    h.controllers = line.substr(a + 1, b - a - 1);
    h.path = line.substr(b + 1);
    bool mounted = false;
    if (h.controllers.empty()) {
      mounted = h.id == 0 && v2Mounted;
    } else {
      for (const auto& options : v1Options) {
        bool all = true;
        for (std::string_view c : split(h.controllers, ',')) all = all && contains(options, c);
        mounted = mounted || all;
      }
    }
    if (mounted) out.push_back(std::move(h));
  }
  return out;
}

void mountOwnCgroups(int target, const std::string& dest) {
  struct stat ns;
  if (::stat("/proc/self/ns/cgroup", &ns) != 0) throwErrno("stat /proc/self/ns/cgroup");
  // No cgroup namespace of the pod's: what the app is in could be the host's.
  if (ns.st_ino == kInitialCgroupNamespace) return;
  std::vector<CgroupLine> hierarchies = mountedHierarchies(
      readFile("/proc/self/cgroup", 1 << 20), readFile("/proc/self/mountinfo", 4 << 20));
  if (hierarchies.empty()) return;
  // Rooted where the app is: the kernel shows a fresh mount of a hierarchy from there down.
  if (::unshare(CLONE_NEWCGROUP) != 0) throwErrno("create the app's cgroup namespace");

  if (hierarchies.size() == 1 && hierarchies[0].controllers.empty()) {
    UniqueFd m = hierarchyMount(hierarchies[0]);
    if (!m) throwErrno("mount cgroup2");
    attach(m.get(), target, "cgroup2 at " + quote(dest));
    return;
  }
  UniqueFd fs = fsOpen("tmpfs");
  if (!fs || fsConfig(fs.get(), FSCONFIG_SET_STRING, "source", "tmpfs") != 0 ||
      fsConfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755") != 0 ||
      fsConfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0) {
    throwErrno("create a tmpfs for " + quote(dest));
  }
  UniqueFd tmpfs(
      static_cast<int>(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC,
                                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
  if (!tmpfs) throwErrno("mount a tmpfs for " + quote(dest));
  attach(tmpfs.get(), target, "a tmpfs at " + quote(dest));
  for (const CgroupLine& h : hierarchies) {
    std::string name = dirName(h);
    std::string what = "the cgroup hierarchy " + quote(h.controllers.empty() ? "cgroup2" : name);
    if (::mkdirat(tmpfs.get(), name.c_str(), 0555) != 0) throwErrno("create " + quote(name));
    UniqueFd dir(
        ::openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) throwErrno("open " + quote(name));
    UniqueFd m = hierarchyMount(h);
    if (!m) throwErrno("mount " + what);
    attach(m.get(), dir.get(), what + " at " + quote(dest + "/" + name));
    // "cpu" and "cpuacct" → "cpu,cpuacct".
    std::vector<std::string_view> parts = split(h.controllers, ',');
    if (parts.size() > 1) {
      for (std::string_view c : parts) {
        std::string link(c);
        if (link.rfind("name=", 0) == 0) continue;
        if (::symlinkat(name.c_str(), tmpfs.get(), link.c_str()) != 0 && errno != EEXIST) {
          throwErrno("create the link " + quote(link));
        }
      }
    }
  }
  // Filled: read-only from here on.
  struct mount_attr ro = {};
  ro.attr_set = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, tmpfs.get(), "", AT_EMPTY_PATH, &ro, sizeof ro) != 0) {
    throwErrno("make the tmpfs at " + quote(dest) + " read-only");
  }
}

}  // namespace ferry::stage2
