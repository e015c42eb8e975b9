#include "stage2/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::stage2 {

namespace {

int sysOpenat2(int dirFd, const char* path, int flags, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirFd, path, &how, sizeof how));
}

}  // namespace

std::string cleanRelative(std::string_view path) {
  std::string out;
  for (std::string_view c : pathComponents(path)) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

UniqueFd openInRoot(int rootFd, std::string_view path, int flags, Follow follow) {
  uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (follow == Follow::kNoSymlinks) resolve |= RESOLVE_NO_SYMLINKS;
  std::string rel = cleanRelative(path);
  if (rel.empty()) rel = ".";
  int fd;
  do {
    // EAGAIN: a rename or mount raced with the lookup; the kernel asks to retry.
    fd = sysOpenat2(rootFd, rel.c_str(), flags, resolve);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  return UniqueFd(fd);
}

UniqueFd createInRoot(int rootFd, std::string_view path, bool directory, Follow follow) {
  std::vector<std::string_view> parts = pathComponents(path);
  for (std::string_view part : parts) {
    if (part == "..") {
      // Allowed by the kernel (it stops at the root) but never produced by ferry: refuse.
      errno = EINVAL;
      throwErrno("resolve " + quote(path) + " (\"..\" in a mount destination)");
    }
  }
  // Already there (/dev for each device node, a directory an earlier mount made): one lookup.
  if (!parts.empty()) {
    UniqueFd whole = openInRoot(rootFd, path, O_PATH, follow);
    if (whole) return whole;
  }
  std::string prefix;
  UniqueFd current = openInRoot(rootFd, ".", O_PATH | O_DIRECTORY, follow);
  if (!current) throwErrno("open the root");
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string name(parts[i]);
    if (!prefix.empty()) prefix += '/';
    prefix += name;
    bool last = i + 1 == parts.size();
    UniqueFd next = openInRoot(rootFd, prefix, O_PATH, follow);
    if (!next && errno == ENOENT) {
      // `current` is the resolved parent: create the entry there. mkdirat and mknodat never
      // follow a symlink in the last component; a dangling symlink makes them fail with EEXIST
      // and the lookup below fails again with ENOENT, which is reported.
      int rc;
      if (!last || directory) {
        rc = mkdirat(current.get(), name.c_str(), 0755);
      } else {
        rc = mknodat(current.get(), name.c_str(), S_IFREG | 0644, 0);
      }
      if (rc != 0 && errno != EEXIST) throwErrno("create " + quote("/" + prefix));
      next = openInRoot(rootFd, prefix, O_PATH, follow);
    }
    if (!next) throwErrno("resolve " + quote("/" + prefix) + " inside the root");
    current = std::move(next);
  }
  return current;
}

}  // namespace ferry::stage2
