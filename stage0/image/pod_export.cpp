#include "stage0/image/pod_export.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/writer.hpp"
#include "stage0/pod/runtime_options.hpp"

namespace ferry::image {

namespace fs = std::filesystem;

namespace {

// The xattrs an exported file keeps: the app's own (user.*) and its file capabilities
// (security.capability, as GNU tar --xattrs and the image formats carry them); not the host's
// labels and signatures (security.selinux, .ima, .evm), nor trusted.* (overlayfs's own), nor
// ACLs (system.*).
bool exportedXattr(std::string_view name) {
  return name.starts_with("user.") || name == "security.capability";
}

void readXattrs(int fd, const std::string& path, archive::Entry& e) {
  std::vector<char> names(1024);
  ssize_t n = 0;
  while ((n = ::flistxattr(fd, names.data(), names.size())) < 0 && errno == ERANGE) {
    names.resize(names.size() * 4);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return;
    throwErrno("list the xattrs of " + quote(path));
  }
  for (const char* p = names.data(); p < names.data() + n; p += std::strlen(p) + 1) {
    std::string name(p);
    if (!exportedXattr(name)) continue;
    std::string value;
    ssize_t v = 0;
    do {
      ssize_t size = ::fgetxattr(fd, name.c_str(), nullptr, 0);
      if (size < 0) {
        v = size;
        break;
      }
      value.resize(static_cast<size_t>(size));
      v = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    } while (v < 0 && errno == ERANGE);
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      throwErrno("read the xattr " + name + " of " + quote(path));
    }
    value.resize(static_cast<size_t>(v));
    e.xattrs[name] = std::move(value);
  }
}

// Writes a directory tree (opened as `dirFd`) below `prefix` of the archive: each directory
// before its children, names in byte order, a hard-linked file once with its data and then as
// links to that first path.
class TreeWriter {
 public:
  explicit TreeWriter(archive::Writer& w) : w_(w) {}

  void directory(int dirFd, const std::string& prefix) {
    std::vector<std::string> names;
    {
      int dup = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0) throwErrno("read " + quote(prefix));
      DIR* d = ::fdopendir(dup);
      if (d == nullptr) {
        ::close(dup);
        throwErrno("read " + quote(prefix));
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
      while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
      }
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) member(dirFd, name, prefix + "/" + name);
  }

  void root(int dirFd, const std::string& prefix) {
    struct stat st;
    if (::fstat(dirFd, &st) != 0) throwErrno("stat the app's root");
    archive::Entry e = entryOf(st, prefix);
    readXattrs(dirFd, prefix, e);
    w_.add(e);
    directory(dirFd, prefix);
  }

 private:
  archive::Entry entryOf(const struct stat& st, const std::string& path) {
    archive::Entry e;
    e.path = path;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtimeSec = st.st_mtim.tv_sec;
    e.mtimeNsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        e.type = archive::Type::kDir;
        break;
      case S_IFLNK:
        e.type = archive::Type::kSymlink;
        break;
      case S_IFCHR:
      case S_IFBLK:
        e.type = S_ISCHR(st.st_mode) ? archive::Type::kChar : archive::Type::kBlock;
        e.devMajor = major(st.st_rdev);
        e.devMinor = minor(st.st_rdev);
        break;
      case S_IFIFO:
        e.type = archive::Type::kFifo;
        break;
      default:
        e.type = archive::Type::kFile;
        e.size = static_cast<uint64_t>(st.st_size);
    }
    return e;
  }

  void member(int dirFd, const std::string& name, const std::string& path) {
    struct stat st;
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      throwErrno("stat " + quote(path));
    }
    if (S_ISSOCK(st.st_mode)) return;  // a socket is no file of an image
    archive::Entry e = entryOf(st, path);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = links_.find(key);
      if (it != links_.end()) {
        archive::Entry link = archive::hardlinkEntry(path, it->second);
        link.mode = e.mode;
        link.uid = e.uid;
        link.gid = e.gid;
        link.mtimeSec = e.mtimeSec;
        w_.add(link);
        return;
      }
      links_.emplace(key, path);
    }
    if (e.type == archive::Type::kSymlink) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirFd, name.c_str(), target.data(), target.size());
      if (n < 0) throwErrno("read the link " + quote(path));
      target.resize(static_cast<size_t>(n));
      e.linkTarget = target;
      w_.add(e);
      return;
    }
    if (e.type == archive::Type::kDir) {
      UniqueFd sub(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throwErrno("open " + quote(path));
      readXattrs(sub.get(), path, e);
      w_.add(e);
      directory(sub.get(), path);
      return;
    }
    if (e.type != archive::Type::kFile) {
      w_.add(e);
      return;
    }
    UniqueFd f(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) throwErrno("open " + quote(path));
    readXattrs(f.get(), path, e);
    w_.add(e);
    char buf[1 << 16];
    uint64_t left = e.size;
    while (left > 0) {
      ssize_t n = ::read(f.get(), buf, std::min<uint64_t>(sizeof buf, left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throwErrno("read " + quote(path));
      if (n == 0) throw Error(Errc::kIo, "cannot read " + quote(path) + ": it shrank");
      w_.write(buf, static_cast<size_t>(n));
      left -= static_cast<uint64_t>(n);
    }
  }

  archive::Writer& w_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

bool emptyDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_empty(dir, ec) || ec;
}

}  // namespace

PodExportResult exportPodApp(const pod::Pod& pd, const PodExportOptions& options) {
  pod::State state = pd.state();
  // Held shared while reading: gc deletes a pod only under its exclusive lock.
  auto lock = pod::PodLock::tryShared(pd.path);
  if (!lock || (state != pod::State::kExited && state != pod::State::kExitedGarbage)) {
    throw Error(Errc::kInvalid, "cannot export pod " + pd.uuid + ": it is " +
                                    std::string(pod::stateName(state)) +
                                    " (only an exited pod can be exported)");
  }
  pod::RuntimeOptions rt = pod::RuntimeOptions::read(pd.path);
  if (rt.privateUsers) {
    throw Error(Errc::kUnsupported,
                "not supported: ferry export of pod " + pd.uuid +
                    ", which ran with --private-users (its files belong to the namespace's IDs)");
  }
  std::string app = options.app;
  if (app.empty()) {
    if (rt.apps.size() != 1) {
      std::string names;
      for (const auto& a : rt.apps) names += (names.empty() ? "" : ", ") + a.name;
      throw Error(Errc::kUsage,
                  "pod " + pd.uuid + " has several apps (" + names + "): name the one to export");
    }
    app = rt.apps[0].name;
  }
  const pod::RuntimeApp* ra = nullptr;
  for (const auto& a : rt.apps) {
    if (a.name == app) ra = &a;
  }
  if (ra == nullptr) throw Error(Errc::kNotFound, "pod " + pd.uuid + " has no app " + quote(app));
  fs::path appDir = pd.path / "apps" / app;
  std::string manifest = readFile(appDir / "manifest", 1 << 20);

  std::error_code ec;
  if (fs::exists(fs::symlink_status(options.out, ec)) && !options.overwrite) {
    throw Error(Errc::kInvalid,
                "cannot export to " + quote(options.out.string()) + ": it exists (--overwrite)");
  }
  fs::path out = fs::absolute(options.out).lexically_normal();

  // The rootfs: a copied one as it is; an overlay one is the upper layer over the tree, read
  // through a read-only overlay of both as lower layers (whiteouts and opaque directories
  // honoured), in a mount namespace of this process's own, so nothing shows anywhere else.
  std::optional<TempDir> mnt;
  struct Unmount {
    std::optional<TempDir>& dir;
    bool mounted = false;
    ~Unmount() {
      if (mounted) ::umount2(dir->path().c_str(), MNT_DETACH);
    }
  } unmount{mnt};
  fs::path rootfs = appDir / "rootfs";
  if (emptyDir(rootfs)) {
    fs::path upper = appDir / "upper";
    auto plain = [](const fs::path& p) {
      return p.string().find_first_of(",:\\") == std::string::npos;
    };
    if (!plain(upper) || !plain(ra->tree)) {
      throw Error(Errc::kUnsupported,
                  "not supported: ferry export of an app whose paths hold "
                  "',', ':' or '\\' (" +
                      quote(ra->tree.string()) + ")");
    }
    if (::unshare(CLONE_NEWNS) != 0) throwErrno("create a mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      throwErrno("make the mounts private");
    }
    mnt.emplace(fs::temp_directory_path(), "ferry-export-");
    std::string opts = "lowerdir=" + upper.string() + ":" + ra->tree.string();
    if (::mount("overlay", mnt->path().c_str(), "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV,
                opts.c_str()) != 0) {
      throwErrno("mount the app's root filesystem (an overlay of " + quote(upper.string()) +
                 " over " + quote(ra->tree.string()) + ")");
    }
    unmount.mounted = true;
    rootfs = mnt->path();
  }
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throwErrno("open " + quote(rootfs.string()));

  fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".tmp");
  ::unlink(tmp.c_str());
  UniqueFd fd = openFile(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  archive::WriteResult result;
  try {
    archive::WriterOptions wo;
    wo.compression = archive::Compression::kGzip;
    wo.uncompressedDigest = DigestAlgorithm::kSha512;
    wo.compressedDigest = std::nullopt;
    wo.name = out.string();
    archive::Writer w(fd.get(), wo);
    archive::Entry m = archive::fileEntry("manifest", manifest.size());
    w.add(m);
    w.write(manifest.data(), manifest.size());
    TreeWriter(w).root(root.get(), "rootfs");
    result = w.finish();
    if (::fsync(fd.get()) != 0) throwErrno("sync " + quote(tmp.string()));
    if (::rename(tmp.c_str(), out.c_str()) != 0) {
      throwErrno("rename " + quote(tmp.string()) + " to " + quote(out.string()));
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return {app, "sha512-" + result.uncompressedDigest->hex()};
}

}  // namespace ferry::image
