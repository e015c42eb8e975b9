#include "stage1/common/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/copy_tree.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/userns.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

void makeDir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    throwErrno("create directory " + quote(dir.string()));
  }
}

// overlayfs with the option volatile where the kernel has it (5.10): the upper layer is never
// synced, neither on an app's fsync nor when the overlay's superblock goes with the pod's mount
// namespace. Without it the pod's end waits for a sync of the whole file system the upper
// directory is on (every dirty page of the host's, not only the pod's): that sync was most of
// a short pod's teardown. A pod's writes to its root filesystem outlive the pod (upper/, until
// gc) but not a crash of the machine, like the pod itself; what must be durable goes in a
// volume. An older kernel (EINVAL) gets the mount without it.
int mountOverlay(const fs::path& target, const std::string& options) {
  std::string fast = options + ",volatile";
  if (::mount("overlay", target.c_str(), "overlay", 0, fast.c_str()) == 0) return 0;
  if (errno != EINVAL) return -1;
  return ::mount("overlay", target.c_str(), "overlay", 0, options.c_str());
}

}  // namespace

RootfsKind mountAppRootfs(const fs::path& appDir, const fs::path& tree, bool overlay) {
  fs::path rootfs = appDir / "rootfs";
  fs::path upper = appDir / "upper";
  fs::path work = appDir / "work";
  makeDir(rootfs, 0700);
  // The upper directory's mode is the mode of the app's "/" (overlayfs takes the root's
  // attributes from the upper layer): it stays 0755, and the 0700 app directory above it keeps
  // host users away from whatever the pod writes there (setuid binaries included).
  makeDir(upper, 0755);
  makeDir(work, 0700);
  struct stat st;
  if (::stat(tree.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(Errc::kNotFound,
                "cannot use the app's tree " + quote(tree.string()) + ": not a directory");
  }
  // Overlay options are a comma-separated list and lowerdir a colon-separated one: paths that
  // hold either are copied rather than escaped.
  auto plain = [](const fs::path& p) {
    return p.string().find_first_of(",:\\") == std::string::npos;
  };
  if (overlay && plain(tree) && plain(upper) && plain(work)) {
    std::string options =
        "lowerdir=" + tree.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
    if (mountOverlay(rootfs, options) == 0) {
      return RootfsKind::kOverlay;
    }
  }
  // copyTree wants a fresh destination: the empty directory stage0 made, or the leftovers of an
  // earlier attempt, go first.
  removeTree(rootfs);
  copyTree(tree, rootfs);
  return RootfsKind::kCopy;
}

void mountIdmappedOverlay(const fs::path& appDir, int treeFd) {
  fs::path lower = appDir / "lower";
  userns::attachTree(treeFd, lower);
  std::string options = "lowerdir=" + lower.string() + ",upperdir=" + (appDir / "upper").string() +
                        ",workdir=" + (appDir / "work").string() + ",userxattr";
  fs::path rootfs = appDir / "rootfs";
  if (mountOverlay(rootfs, options) != 0) {
    throwErrno("mount the overlay of " + quote(rootfs.string()) + " in the pod's user namespace");
  }
  if (::umount2(lower.c_str(), MNT_DETACH) != 0) throwErrno("detach " + quote(lower.string()));
}

std::vector<fs::path> mountsUnder(const fs::path& dir) {
  std::string prefix = dir.string();
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  std::vector<fs::path> out;
  std::string text = readFile("/proc/self/mountinfo");
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    // id parent major:minor root mount-point …
    size_t field = 0, pos = 0;
    std::string_view mountPoint;
    while (pos <= line.size() && field <= 4) {
      size_t next = line.find(' ', pos);
      if (next == std::string_view::npos) next = line.size();
      if (field == 4) mountPoint = line.substr(pos, next - pos);
      pos = next + 1;
      ++field;
    }
    if (mountPoint.empty()) continue;
    std::string path = unescapeMountinfo(mountPoint);
    if (path == prefix || path.starts_with(prefix + "/")) out.emplace_back(path);
  }
  // mountinfo lists a mount after the one it sits on: reversed, the deepest come first.
  return {out.rbegin(), out.rend()};
}

size_t unmountUnder(const fs::path& dir) {
  size_t count = 0;
  // Stacked mounts need one pass each; a bounded number of passes ends even when some mount
  // cannot be detached (the error says which).
  for (int pass = 0; pass < 64; ++pass) {
    auto mounts = mountsUnder(dir);
    if (mounts.empty()) return count;
    for (const auto& m : mounts) {
      if (::umount2(m.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
        ++count;
      } else if (errno != EINVAL && errno != ENOENT) {
        throwErrno("unmount " + quote(m.string()));
      }
    }
  }
  auto left = mountsUnder(dir);
  if (!left.empty()) {
    throw Error(Errc::kIo, "cannot unmount " + quote(left.front().string()) + ": still mounted");
  }
  return count;
}

}  // namespace ferry::stage1
