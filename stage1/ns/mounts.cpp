#include "stage1/ns/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <system_error>
#include <utility>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

void makeDir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    throwErrno("create directory " + quote(dir.string()));
  }
}

void copyXattrs(const fs::path& src, const fs::path& dst) {
  ssize_t size = ::llistxattr(src.c_str(), nullptr, 0);
  if (size <= 0) return;
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(src.c_str(), names.data(), names.size());
  if (size < 0) throwErrno("list the xattrs of " + quote(src.string()));
  for (size_t at = 0; at < static_cast<size_t>(size);) {
    std::string name(names.c_str() + at);
    at += name.size() + 1;
    ssize_t len = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) throwErrno("read xattr " + name + " of " + quote(src.string()));
    std::string value(static_cast<size_t>(len), '\0');
    len = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) throwErrno("read xattr " + name + " of " + quote(src.string()));
    if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), static_cast<size_t>(len), 0) != 0) {
      throwErrno("set xattr " + name + " on " + quote(dst.string()));
    }
  }
}

void copyContent(const fs::path& src, const fs::path& dst, mode_t mode) {
  UniqueFd in = openFile(src, O_RDONLY | O_NOFOLLOW);
  UniqueFd out = openFile(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0777);
  for (;;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS) {
      throwErrno("copy " + quote(src.string()) + " to " + quote(dst.string()));
    }
    break;  // no copy_file_range between these filesystems: plain reads and writes
  }
  char buf[65536];
  for (;;) {
    size_t n = readFull(in.get(), buf, sizeof buf, src.string());
    writeAll(out.get(), buf, n, dst.string());
    if (n < sizeof buf) return;
  }
}

using Links = std::map<std::pair<dev_t, ino_t>, fs::path>;

void copyEntry(const fs::path& src, const fs::path& dst, Links& links) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) throwErrno("stat " + quote(src.string()));
  if (S_ISDIR(st.st_mode)) {
    struct stat existing;
    if (::lstat(dst.c_str(), &existing) == 0 && !S_ISDIR(existing.st_mode)) {
      if (::unlink(dst.c_str()) != 0) throwErrno("remove " + quote(dst.string()));
    }
    makeDir(dst, 0700);
    std::error_code ec;
    for (fs::directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      copyEntry(it->path(), dst / it->path().filename(), links);
    }
    if (ec) throwErrno(ec.value(), "list " + quote(src.string()));
  } else {
    if (::unlink(dst.c_str()) != 0 && errno != ENOENT) {
      throwErrno("remove " + quote(dst.string()));
    }
    if (st.st_nlink > 1) {
      auto [it, fresh] = links.try_emplace({st.st_dev, st.st_ino}, dst);
      if (!fresh) {
        if (::link(it->second.c_str(), dst.c_str()) != 0) {
          throwErrno("link " + quote(dst.string()) + " to " + quote(it->second.string()));
        }
        return;
      }
    }
    if (S_ISREG(st.st_mode)) {
      copyContent(src, dst, st.st_mode);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) throwErrno("read link " + quote(src.string()));
      target.resize(static_cast<size_t>(n));
      if (::symlink(target.c_str(), dst.c_str()) != 0) {
        throwErrno("create symlink " + quote(dst.string()));
      }
    } else if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) {
      throwErrno("create node " + quote(dst.string()));
    }
  }
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) throwErrno("chown " + quote(dst.string()));
  copyXattrs(src, dst);
  // After chown, which clears set-user-ID and set-group-ID bits.
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    throwErrno("chmod " + quote(dst.string()));
  }
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    throwErrno("set the times of " + quote(dst.string()));
  }
}

std::string unescapeMountPath(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

RootfsKind mountAppRootfs(const fs::path& appDir, const fs::path& tree) {
  fs::path rootfs = appDir / "rootfs";
  fs::path upper = appDir / "upper";
  fs::path work = appDir / "work";
  makeDir(rootfs, 0755);
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
  if (plain(tree) && plain(upper) && plain(work)) {
    std::string options =
        "lowerdir=" + tree.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
    if (::mount("overlay", rootfs.c_str(), "overlay", 0, options.c_str()) == 0) {
      return RootfsKind::kOverlay;
    }
  }
  Links links;
  copyEntry(tree, rootfs, links);
  return RootfsKind::kCopy;
}

void copyTree(const fs::path& src, const fs::path& dst) {
  Links links;
  copyEntry(src, dst, links);
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
    std::string path = unescapeMountPath(mountPoint);
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
