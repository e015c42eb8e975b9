#include "common/userns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/error.hpp"

namespace ferry::userns {

namespace fs = std::filesystem;

namespace {

// The helper process: killed and reaped on every path out of makeUserns. SIGKILL ends it
// sooner than the EOF it also waits for (which covers this process dying first): the helper
// need not be scheduled back into user space, which on a loaded machine takes milliseconds.
class Helper {
 public:
  Helper(pid_t pid, UniqueFd release) : pid_(pid), release_(std::move(release)) {}
  ~Helper() {
    ::kill(pid_, SIGKILL);
    release_.reset();
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  UniqueFd release_;
};

void writeMap(pid_t pid, const char* file, const std::string& line) {
  fs::path path = fs::path("/proc") / std::to_string(pid) / file;
  UniqueFd fd = openFile(path, O_WRONLY);
  // The kernel takes a map in one write(2) only.
  ssize_t n = ::write(fd.get(), line.data(), line.size());
  if (n < 0) throwErrno("write " + quote(path.string()));
  if (static_cast<size_t>(n) != line.size()) {
    throw Error(Errc::kIo, "cannot write " + quote(path.string()) + ": short write");
  }
}

}  // namespace

UniqueFd makeUserns(const idmap::IdRange& range) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("create a pipe");
  UniqueFd readEnd(p[0]), writeEnd(p[1]);
  // clone without a new stack behaves as fork(2), but the child starts in a new user namespace,
  // so nothing has to wait for an unshare(2). The child only read(2)s and _exit(2)s.
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) throwErrno("create a user namespace");
  if (pid == 0) {
    ::close(p[1]);
    char c;
    while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  readEnd.reset();
  Helper helper(static_cast<pid_t>(pid), std::move(writeEnd));
  mapIds(helper.pid(), range);
  return openFile(fs::path("/proc") / std::to_string(helper.pid()) / "ns/user", O_RDONLY);
}

void mapIds(pid_t pid, const idmap::IdRange& range) {
  std::string line = range.mapLine();
  writeMap(pid, "uid_map", line);
  writeMap(pid, "gid_map", line);
}

UniqueFd idmappedTree(const fs::path& source, int usernsFd) {
  int fd = ::open_tree(AT_FDCWD, source.c_str(),
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT);
  if (fd < 0) throwErrno("clone the mount tree of " + quote(source.string()));
  UniqueFd tree(fd);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    throwErrno("idmap the mount of " + quote(source.string()));
  }
  return tree;
}

void attachTree(int treeFd, const fs::path& target) {
  if (::move_mount(treeFd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    throwErrno("attach a mount at " + quote(target.string()));
  }
}

void idmappedBind(const fs::path& source, const fs::path& target, int usernsFd) {
  UniqueFd tree = idmappedTree(source, usernsFd);
  attachTree(tree.get(), target);
}

std::optional<std::string> idmapUnsupported(const fs::path& dir, int usernsFd) {
  int fd = ::open_tree(AT_FDCWD, dir.c_str(),
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT);
  if (fd < 0) {
    if (errno == ENOSYS) return "the kernel has no open_tree(2) (Linux 5.2)";
    throwErrno("clone the mount tree of " + quote(dir.string()));
  }
  UniqueFd tree(fd);  // closing a detached mount unmounts it
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(usernsFd);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0) {
    return std::nullopt;
  }
  switch (errno) {
    case ENOSYS:
      return "the kernel has no mount_setattr(2) (Linux 5.12)";
    case EINVAL:
    case EOPNOTSUPP:
    case EPERM:
      return "the filesystem of " + quote(dir.string()) +
             " (or one mounted under it) does not support idmapped mounts: " + std::strerror(errno);
    default:
      throwErrno("idmap the mount of " + quote(dir.string()));
  }
}

}  // namespace ferry::userns
