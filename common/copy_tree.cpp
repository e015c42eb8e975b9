#include "common/copy_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry {

namespace fs = std::filesystem;

namespace {

class TreeCopier {
 public:
  TreeCopier(fs::path from, fs::path to, const CopyTreeOptions& o)
      : from_(std::move(from)), to_(std::move(to)), options_(o) {}

  void run() {
    UniqueFd src = openFile(from_, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    struct stat st;
    if (::fstat(src.get(), &st) != 0) throwErrno("stat " + quote(from_.string()));
    if (::mkdir(to_.c_str(), 0700) != 0) throwErrno("create directory " + quote(to_.string()));
    UniqueFd dst = openFile(to_, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    root_ = dst.get();
    copyDir(src.get(), dst.get(), "");
    finish(dst.get(), "", st, src.get());
  }

 private:
  std::string srcName(const std::string& rel) const {
    return quote((rel.empty() ? from_ : from_ / rel).string());
  }
  std::string dstName(const std::string& rel) const {
    return quote((rel.empty() ? to_ : to_ / rel).string());
  }

  bool shifting() const { return options_.idShift != 0; }
  uid_t owner(uint32_t id) const {
    if (!shifting()) return id;
    return id < options_.idCount ? options_.idShift + id : 65534;
  }
  // Extended attributes that name host IDs or grant host privileges: not carried into a
  // shifted copy.
  bool skipXattr(const std::string& key) const {
    return shifting() && (key == "security.capability" || key.rfind("system.posix_acl_", 0) == 0);
  }

  void copyDir(int src, int dst, const std::string& rel) {
    int dup = ::fcntl(src, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) throwErrno("duplicate a descriptor of " + srcName(rel));
    DIR* d = ::fdopendir(dup);
    if (d == nullptr) {
      ::close(dup);
      throwErrno("list " + srcName(rel));
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) {
      errno = err;
      throwErrno("list " + srcName(rel));
    }
    for (const std::string& name : names)
      copyEntry(src, dst, name, rel.empty() ? name : rel + "/" + name);
  }

  void copyEntry(int srcDir, int dstDir, const std::string& name, const std::string& rel) {
    struct stat st;
    if (::fstatat(srcDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      throwErrno("stat " + srcName(rel));
    }
    // A host device owned by the pod's range: never.
    if (shifting() && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) return;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = links_.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!fresh) {
        if (::linkat(root_, it->second.c_str(), root_, rel.c_str(), 0) != 0) {
          throwErrno("link " + dstName(rel) + " to " + dstName(it->second));
        }
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dstDir, name.c_str(), 0700) != 0) throwErrno("create " + dstName(rel));
      UniqueFd s(::openat(srcDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throwErrno("open " + srcName(rel));
      UniqueFd d(::openat(dstDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!d) throwErrno("open " + dstName(rel));
      copyDir(s.get(), d.get(), rel);
      finish(d.get(), rel, st, s.get());
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd s(::openat(srcDir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throwErrno("open " + srcName(rel));
      UniqueFd d(::openat(dstDir, name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!d) throwErrno("create " + dstName(rel));
      copyData(s.get(), d.get(), st.st_size, rel);
      finish(d.get(), rel, st, s.get());
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(srcDir, name.c_str(), target.data(), target.size());
      if (n < 0) throwErrno("read link " + srcName(rel));
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), dstDir, name.c_str()) != 0) {
        throwErrno("create link " + dstName(rel));
      }
      if (::fchownat(dstDir, name.c_str(), owner(st.st_uid), owner(st.st_gid),
                     AT_SYMLINK_NOFOLLOW) != 0) {
        throwErrno("chown " + dstName(rel));
      }
      copyXattrs(srcDir, dstDir, name, rel, true);
      struct timespec times[2] = {st.st_atim, st.st_mtim};
      if (::utimensat(dstDir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        throwErrno("set times of " + dstName(rel));
      }
    } else {
      // Devices, fifos, sockets: a node of the same kind.
      if (::mknodat(dstDir, name.c_str(), st.st_mode & (S_IFMT | 0700), st.st_rdev) != 0) {
        throwErrno("create node " + dstName(rel));
      }
      if (::fchownat(dstDir, name.c_str(), owner(st.st_uid), owner(st.st_gid),
                     AT_SYMLINK_NOFOLLOW) != 0) {
        throwErrno("chown " + dstName(rel));
      }
      if (::fchmodat(dstDir, name.c_str(), st.st_mode & 07777, 0) != 0) {
        throwErrno("chmod " + dstName(rel));
      }
      copyXattrs(srcDir, dstDir, name, rel, true);
      struct timespec times[2] = {st.st_atim, st.st_mtim};
      if (::utimensat(dstDir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        throwErrno("set times of " + dstName(rel));
      }
    }
  }

  void copyData(int src, int dst, off_t size, const std::string& rel) {
    off_t left = size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        break;  // fall back to read/write below
      }
      if (n < 0) throwErrno("copy " + srcName(rel));
      if (n == 0) break;
      left -= n;
    }
    std::string buf(1 << 16, '\0');
    while (true) {
      size_t n = readFull(src, buf.data(), buf.size(), srcName(rel));
      if (n == 0) break;
      writeAll(dst, buf.data(), n, dstName(rel));
      if (n < buf.size()) break;
    }
  }

  // Owner, mode, xattrs and times of a file or directory, through descriptors (the mode after
  // the owner: chown clears setuid/setgid).
  void finish(int dst, const std::string& rel, const struct stat& st, int src) {
    if (::fchown(dst, owner(st.st_uid), owner(st.st_gid)) != 0) {
      throwErrno("chown " + dstName(rel));
    }
    if (::fchmod(dst, st.st_mode & 07777) != 0) throwErrno("chmod " + dstName(rel));
    copyXattrsFd(src, dst, rel);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(dst, times) != 0) throwErrno("set times of " + dstName(rel));
  }

  void xattrFailed(const std::string& rel) {
    if (options_.ignoreXattrErrors || errno == ENOTSUP) return;
    throwErrno("copy extended attributes of " + srcName(rel));
  }

  void copyXattrsFd(int src, int dst, const std::string& rel) {
    std::string names(4096, '\0');
    ssize_t n = ::flistxattr(src, names.data(), names.size());
    if (n < 0 && errno == ERANGE) {
      names.resize(65536);
      n = ::flistxattr(src, names.data(), names.size());
    }
    if (n < 0) return xattrFailed(rel);
    for (size_t i = 0; i < static_cast<size_t>(n);) {
      std::string key = names.c_str() + i;
      i += key.size() + 1;
      if (skipXattr(key)) continue;
      std::string value(65536, '\0');
      ssize_t v = ::fgetxattr(src, key.c_str(), value.data(), value.size());
      if (v < 0) {
        xattrFailed(rel);
        continue;
      }
      if (::fsetxattr(dst, key.c_str(), value.data(), static_cast<size_t>(v), 0) != 0) {
        xattrFailed(rel);
      }
    }
  }

  // Symlinks and nodes cannot be opened: by /proc/self/fd path of their directory.
  void copyXattrs(int srcDir, int dstDir, const std::string& name, const std::string& rel, bool) {
    std::string s = "/proc/self/fd/" + std::to_string(srcDir) + "/" + name;
    std::string d = "/proc/self/fd/" + std::to_string(dstDir) + "/" + name;
    std::string names(4096, '\0');
    ssize_t n = ::llistxattr(s.c_str(), names.data(), names.size());
    if (n < 0) return xattrFailed(rel);
    for (size_t i = 0; i < static_cast<size_t>(n);) {
      std::string key = names.c_str() + i;
      i += key.size() + 1;
      if (skipXattr(key)) continue;
      std::string value(65536, '\0');
      ssize_t v = ::lgetxattr(s.c_str(), key.c_str(), value.data(), value.size());
      if (v < 0 ||
          ::lsetxattr(d.c_str(), key.c_str(), value.data(), static_cast<size_t>(v), 0) != 0) {
        xattrFailed(rel);
      }
    }
  }

  fs::path from_, to_;
  CopyTreeOptions options_;
  int root_ = -1;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

void copyTree(const fs::path& from, const fs::path& to, const CopyTreeOptions& options) {
  TreeCopier(from, to, options).run();
}

}  // namespace ferry
