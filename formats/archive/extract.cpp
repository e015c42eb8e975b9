#include "formats/archive/extract.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "formats/archive/trash.hpp"

namespace ferry::archive {

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr uint64_t kWritebackMin = 16 << 10;  // files this large start their writeback at once

std::string errnoText(int err) { return std::strerror(err); }

struct timespec toTimespec(int64_t sec, uint32_t nsec) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  return ts;
}

size_t depth(std::string_view path) { return std::count(path.begin(), path.end(), '/'); }

// The process's umask (Linux 4.7+ shows it in /proc/self/status; umask(2) cannot read it
// without setting it, which other threads would see); nullopt when unknown.
std::optional<mode_t> readUmask() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return std::nullopt;
  std::optional<mode_t> mask;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned m;
    if (std::sscanf(line, "Umask: %o", &m) == 1) {
      mask = static_cast<mode_t>(m);
      break;
    }
  }
  std::fclose(f);
  return mask;
}

}  // namespace

std::optional<std::string> stripPathPrefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return std::string(path);
  if (!isWithin(path, prefix)) return std::nullopt;
  if (path.size() == prefix.size()) return std::string();
  return std::string(path.substr(prefix.size() + 1));
}

Extractor::Extractor(const std::filesystem::path& target, ExtractOptions options, Target mode,
                     std::string archiveName)
    : target_(target),
      options_(std::move(options)),
      mode_(mode),
      archiveName_(std::move(archiveName)) {
  owners_ = options_.restoreOwners.value_or(::geteuid() == 0);
  euid_ = ::geteuid();
  egid_ = ::getegid();
  umask_ = readUmask();
  if (mode_ == Target::kFresh) {
    if (::mkdir(target_.c_str(), 0755) == 0) {
      createdRoot_ = true;
    } else if (errno != EEXIST) {
      throwErrno("create directory " + quote(target_.string()));
    }
  }
  int fd = ::open(target_.c_str(), kDirFlags);
  if (fd < 0) throwErrno("open directory " + quote(target_.string()));
  root_ = describeDir(UniqueFd(fd));
  if (mode_ == Target::kFresh && !createdRoot_) {
    std::error_code ec;
    if (!std::filesystem::is_empty(target_, ec) || ec) {
      root_.reset();
      throw Error(Errc::kInvalid,
                  "cannot extract into " + quote(target_.string()) + ": directory is not empty");
    }
  }
}

Extractor::~Extractor() {
  if (!committed_) rollback();
}

void Extractor::rollback() noexcept {
  if (mode_ != Target::kFresh) return;
  forgetDirs();
  root_.reset();
  std::error_code ec;
  if (createdRoot_) {
    std::filesystem::remove_all(target_, ec);
    return;
  }
  for (auto it = std::filesystem::directory_iterator(target_, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code ignored;
    std::filesystem::remove_all(it->path(), ignored);  // does not follow symlinks
  }
}

Error Extractor::error(Errc code, std::string_view entry, std::string_view cause) const {
  std::string m = "cannot extract " + quote(archiveName_) + " into " + quote(target_.string());
  if (!entry.empty()) m += ": entry " + quote(entry);
  m += ": ";
  m += cause;
  return Error(code, m);
}

namespace {
constexpr size_t kDirCacheSize = 64;
}  // namespace

Extractor::DirRef Extractor::describeDir(UniqueFd fd) const {
  auto dir = std::make_shared<OpenDir>();
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat a directory below " + quote(target_.string()));
  dir->newGid = (st.st_mode & S_ISGID) != 0 ? st.st_gid : egid_;
  dir->defaultAcl = ::fgetxattr(fd.get(), "system.posix_acl_default", nullptr, 0) >= 0 ||
                    (errno != ENODATA && errno != ENOTSUP);
  dir->fd = std::move(fd);
  return dir;
}

bool Extractor::needsChown(const Entry& e, const OpenDir& parent) const {
  return owners_ && (e.uid != euid_ || e.gid != parent.newGid);
}

void Extractor::cacheDir(std::string_view path, const DirRef& dir) {
  if (dirCache_.size() >= kDirCacheSize) dirCache_.clear();
  dirCache_.insert_or_assign(std::string(path), dir);
}

Extractor::DirRef Extractor::openDir(std::string_view path, bool create, std::string_view entry) {
  if (path.empty()) return root_;
  // Start from the deepest directory on the way that is already open (the cache only holds
  // directories reached without symlinks, and is emptied whenever anything is removed).
  size_t i = 0;
  DirRef cur = root_;
  for (std::string_view p = path; !p.empty(); p = parentPath(p)) {
    auto it = dirCache_.find(p);
    if (it != dirCache_.end()) {
      if (p.size() == path.size()) return it->second;
      cur = it->second;  // shared: caching below may empty the cache
      i = p.size() + 1;
      break;
    }
  }
  int curFd = cur->get();
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string comp(path.substr(i, j - i));
    std::string_view sofar = path.substr(0, j);
    int fd = ::openat(curFd, comp.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(curFd, comp.c_str(), 0755) != 0 && errno != EEXIST) {
        int err = errno;
        throw error(Errc::kIo, entry,
                    "cannot create directory " + quote(sofar) + ": " + errnoText(err));
      }
      fd = ::openat(curFd, comp.c_str(), kDirFlags);
    }
    if (fd < 0) {
      int err = errno;
      struct stat st;
      if (::fstatat(curFd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
          throw error(Errc::kSecurity, entry, "path goes through symlink " + quote(sofar));
        }
        if (!S_ISDIR(st.st_mode)) {
          throw error(Errc::kInvalid, entry, quote(sofar) + " is not a directory");
        }
      }
      throw error(err == ENOENT ? Errc::kNotFound : Errc::kIo, entry,
                  "cannot open " + quote(sofar) + ": " + errnoText(err));
    }
    cur = describeDir(UniqueFd(fd));
    curFd = fd;
    cacheDir(sofar, cur);
    i = j + 1;
  }
  return cur;
}

void Extractor::removeAt(int dirfd, const std::string& name, std::string_view entry) {
  forgetDirs();
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    throw error(Errc::kIo, entry, "cannot stat " + quote(name) + ": " + errnoText(errno));
  }
  // Files with data and whole directories: a rename into the trash, their blocks freed behind.
  if (options_.trash != nullptr &&
      (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_blocks > 0)) &&
      options_.trash->take(dirfd, name)) {
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), kDirFlags);
    if (fd < 0)
      throw error(Errc::kIo, entry, "cannot open " + quote(name) + ": " + errnoText(errno));
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      throw error(Errc::kIo, entry, "cannot list " + quote(name));
    }
    std::vector<std::string> children;
    while (struct dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n != "." && n != "..") children.emplace_back(n);
    }
    try {
      for (const auto& c : children) removeAt(::dirfd(d), c, entry);
    } catch (...) {
      ::closedir(d);
      throw;
    }
    ::closedir(d);
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) {
      throw error(Errc::kIo, entry, "cannot remove " + quote(name) + ": " + errnoText(errno));
    }
  } else if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
    throw error(Errc::kIo, entry, "cannot remove " + quote(name) + ": " + errnoText(errno));
  }
}

void Extractor::remove(std::string_view path) {
  DirRef parent;
  try {
    parent = openDir(parentPath(path), false, path);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) return;  // nothing to remove
    throw;
  }
  removeAt(parent->get(), std::string(baseName(path)), path);
  // Forget deferred metadata of what was removed.
  for (auto it = dirs_.lower_bound(std::string(path));
       it != dirs_.end() && isWithin(it->first, path);) {
    it = dirs_.erase(it);
  }
}

void Extractor::clearDirectory(std::string_view path,
                               const std::set<std::string, std::less<>>& keep) {
  int fd;
  try {
    fd = ::openat(openDir(path, false, path)->get(), ".", kDirFlags);
  } catch (const Error& e) {
    if (e.code() == Errc::kNotFound) return;
    throw;
  }
  if (fd < 0) throw error(Errc::kIo, path, "cannot open directory: " + errnoText(errno));
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    throw error(Errc::kIo, path, "cannot list directory");
  }
  std::vector<std::pair<std::string, bool>> children;  // name, is a directory
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..") continue;
    struct stat st;
    bool isDir =
        ::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    children.emplace_back(n, isDir);
  }
  ::closedir(d);
  for (const auto& [c, isDir] : children) {
    std::string child = path.empty() ? c : std::string(path) + "/" + c;
    if (keep.contains(child)) {
      if (isDir) clearDirectory(child, keep);
      continue;
    }
    remove(child);
  }
}

void Extractor::applyXattrs(int fd, const Entry& e) {
  if (!options_.restoreXattrs) return;
  for (const auto& [name, value] : e.xattrs) {
    if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) {
      int err = errno;
      if (options_.ignoreXattrErrors && (err == ENOTSUP || err == EPERM)) continue;
      throw error(Errc::kIo, e.path, "cannot set xattr " + quote(name) + ": " + errnoText(err));
    }
  }
}

void Extractor::add(const Entry& in, Reader& data) {
  std::optional<std::string> rel = stripPathPrefix(in.path, options_.stripPrefix);
  if (!rel) {
    throw error(Errc::kSecurity, in.path, "outside " + quote(options_.stripPrefix));
  }
  const std::string& path = in.path;  // messages use the archive's name
  if (++stats_.entries > options_.maxEntries) {
    throw error(Errc::kLimit, path,
                "more than " + std::to_string(options_.maxEntries) + " entries");
  }
  if (in.size > options_.maxEntrySize) {
    throw error(Errc::kLimit, path,
                "size " + std::to_string(in.size) + " exceeds the limit of " +
                    std::to_string(options_.maxEntrySize) + " bytes");
  }
  stats_.bytes += in.size;
  if (stats_.bytes > options_.maxTotalBytes) {
    throw error(Errc::kLimit, path,
                "contents exceed " + std::to_string(options_.maxTotalBytes) + " bytes");
  }
  if (options_.rejectDuplicates && !seen_.insert(in.path).second) {
    throw error(Errc::kSecurity, path, "duplicate entry");
  }
  if (rel->empty()) {
    if (in.type != Type::kDir) throw error(Errc::kSecurity, path, "replaces the root directory");
    return;
  }
  if ((in.type == Type::kChar || in.type == Type::kBlock) && !options_.allowDevices) {
    throw error(Errc::kSecurity, path, std::string(typeName(in.type)) + " not allowed");
  }
  if (in.type == Type::kFifo && !options_.allowFifos) {
    throw error(Errc::kSecurity, path, "fifo not allowed");
  }

  DirRef parentDir = openDir(parentPath(*rel), true, path);
  const OpenDir& parent = *parentDir;
  std::string name(baseName(*rel));
  constexpr int kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  // A file is created with its final mode when the umask keeps it whole and no chown follows
  // (a chown clears setuid and setgid bits, so those are set after it): no fchmod.
  bool chown = needsChown(in, parent);
  bool finalMode =
      umask_ && (in.mode & 07000) == 0 && (in.mode & *umask_) == 0 && !chown && !parent.defaultAcl;
  mode_t createMode = finalMode ? (in.mode & 0777) : 0600;
  UniqueFd created;
  if (in.type == Type::kFile) {
    // Most files are new: create first, and look at what is there only when that fails
    // (O_EXCL never follows a symlink, it fails on any existing name).
    int raw = ::openat(parent.get(), name.c_str(), kCreateFlags, createMode);
    if (raw >= 0) {
      created = UniqueFd(raw);
    } else if (errno != EEXIST) {
      int err = errno;
      throw error(Errc::kIo, path, "cannot create file: " + errnoText(err));
    }
  }
  bool exists = false;
  if (!created) {
    struct stat st;
    exists = ::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !(in.type == Type::kDir && S_ISDIR(st.st_mode))) {
      removeAt(parent.get(), name, path);
      exists = false;
    }
  }
  struct timespec times[2] = {toTimespec(in.mtimeSec, in.mtimeNsec),
                              toTimespec(in.mtimeSec, in.mtimeNsec)};
  auto fail = [&](const std::string& what) -> Error {
    int err = errno;
    return error(Errc::kIo, path, "cannot " + what + ": " + errnoText(err));
  };

  switch (in.type) {
    case Type::kFile: {
      if (!created) {
        int raw = ::openat(parent.get(), name.c_str(), kCreateFlags, createMode);
        if (raw < 0) throw fail("create file");
        created = UniqueFd(raw);
      }
      UniqueFd fd = std::move(created);
      uint64_t written = 0;
      for (;;) {
        std::string_view chunk = data.readChunk();
        if (chunk.empty()) break;
        writeAll(fd.get(), chunk.data(), chunk.size(), (target_ / *rel).string());
        written += chunk.size();
      }
      if (written != in.size) throw error(Errc::kInvalid, path, "short data");
      // Best effort: an error here only means the data goes out at the sync, as it would.
      if (options_.startWriteback && written >= kWritebackMin) {
        ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
      }
      if (chown && ::fchown(fd.get(), in.uid, in.gid) != 0) throw fail("chown");
      if (!finalMode && ::fchmod(fd.get(), in.mode & 07777) != 0) throw fail("chmod");
      applyXattrs(fd.get(), in);
      if (::futimens(fd.get(), times) != 0) throw fail("set times");
      break;
    }
    case Type::kDir: {
      if (!exists && ::mkdirat(parent.get(), name.c_str(), 0700) != 0) {
        throw fail("create directory");
      }
      int raw = ::openat(parent.get(), name.c_str(), kDirFlags);
      if (raw < 0) throw fail("open directory");
      UniqueFd fd(raw);
      // (An existing directory may have another owner than a new one would.)
      if (owners_ && (exists || chown) && ::fchown(fd.get(), in.uid, in.gid) != 0) {
        throw fail("chown");
      }
      applyXattrs(fd.get(), in);
      cacheDir(*rel, describeDir(std::move(fd)));  // its entries usually follow
      dirs_[*rel] = DirMeta{in.mode & 07777, in.mtimeSec, in.mtimeNsec};
      break;
    }
    case Type::kSymlink: {
      if (::symlinkat(in.linkTarget.c_str(), parent.get(), name.c_str()) != 0) {
        throw fail("create symlink");
      }
      if (chown &&
          ::fchownat(parent.get(), name.c_str(), in.uid, in.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        throw fail("chown");
      }
      if (::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        throw fail("set times");
      }
      break;
    }
    case Type::kHardlink: {
      std::optional<std::string> target = stripPathPrefix(in.linkTarget, options_.stripPrefix);
      if (!target || target->empty()) {
        throw error(Errc::kSecurity, path,
                    "hardlink target " + quote(in.linkTarget) + " is outside the tree");
      }
      if (*target == *rel) throw error(Errc::kInvalid, path, "hardlink to itself");
      DirRef tparent = openDir(parentPath(*target), false, path);
      std::string tname(baseName(*target));
      struct stat tst;
      if (::fstatat(tparent->get(), tname.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0) {
        throw error(Errc::kInvalid, path,
                    "hardlink target " + quote(in.linkTarget) + " does not exist");
      }
      if (S_ISDIR(tst.st_mode)) {
        throw error(Errc::kSecurity, path,
                    "hardlink target " + quote(in.linkTarget) + " is a directory");
      }
      if (::linkat(tparent->get(), tname.c_str(), parent.get(), name.c_str(), 0) != 0) {
        throw fail("create hardlink");
      }
      break;
    }
    case Type::kChar:
    case Type::kBlock:
    case Type::kFifo: {
      mode_t kind = in.type == Type::kChar ? S_IFCHR : in.type == Type::kBlock ? S_IFBLK : S_IFIFO;
      dev_t dev = in.type == Type::kFifo ? 0 : makedev(in.devMajor, in.devMinor);
      if (::mknodat(parent.get(), name.c_str(), kind | 0600, dev) != 0) throw fail("create node");
      if (owners_ &&
          ::fchownat(parent.get(), name.c_str(), in.uid, in.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        throw fail("chown");
      }
      if (::fchmodat(parent.get(), name.c_str(), in.mode & 07777, 0) != 0) throw fail("chmod");
      if (::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        throw fail("set times");
      }
      break;
    }
  }
}

ExtractStats Extractor::commit() {
  std::vector<std::pair<std::string, DirMeta>> order(dirs_.begin(), dirs_.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return depth(a.first) > depth(b.first); });
  for (const auto& [path, meta] : order) {
    DirRef parent = openDir(parentPath(path), false, path);
    std::string name(baseName(path));
    if (::fchmodat(parent->get(), name.c_str(), meta.mode, 0) != 0) {
      throw error(Errc::kIo, path, "cannot chmod: " + errnoText(errno));
    }
    struct timespec times[2] = {toTimespec(meta.sec, meta.nsec), toTimespec(meta.sec, meta.nsec)};
    if (::utimensat(parent->get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      throw error(Errc::kIo, path, "cannot set times: " + errnoText(errno));
    }
  }
  committed_ = true;
  forgetDirs();
  return stats_;
}

ExtractStats extract(Reader& reader, const std::filesystem::path& target,
                     const ExtractOptions& options) {
  Extractor x(target, options, Extractor::Target::kFresh, reader.name());
  Entry e;
  while (reader.next(e)) x.add(e, reader);
  ReadResult read = reader.finish();
  ExtractStats stats = x.commit();
  stats.read = std::move(read);
  return stats;
}

}  // namespace ferry::archive
