#include "stage0/pod/pods.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

std::string_view dirName(Dir d) {
  switch (d) {
    case Dir::kEmbryo:
      return "embryo";
    case Dir::kPrepare:
      return "prepare";
    case Dir::kPrepared:
      return "prepared";
    case Dir::kRun:
      return "run";
    case Dir::kExitedGarbage:
      return "exited-garbage";
    case Dir::kGarbage:
      return "garbage";
  }
  return "?";
}

std::string_view stateName(State s) {
  switch (s) {
    case State::kEmbryo:
      return "embryo";
    case State::kPreparing:
      return "preparing";
    case State::kAbortedPrepare:
      return "aborted prepare";
    case State::kPrepared:
      return "prepared";
    case State::kRunning:
      return "running";
    case State::kExited:
      return "exited";
    case State::kExitedGarbage:
      return "exited garbage";
    case State::kGarbage:
      return "garbage";
  }
  return "?";
}

namespace {

std::optional<PodLock> tryLock(const fs::path& podDir, int op) {
  int fd = ::open((podDir / "lock").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throwErrno("open " + quote((podDir / "lock").string()));
  }
  UniqueFd owned(fd);
  while (::flock(owned.get(), op | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::nullopt;
    throwErrno("lock " + quote((podDir / "lock").string()));
  }
  return PodLock(std::move(owned));
}

}  // namespace

std::optional<PodLock> PodLock::tryExclusive(const fs::path& podDir) {
  return tryLock(podDir, LOCK_EX);
}

std::optional<PodLock> PodLock::tryShared(const fs::path& podDir) {
  return tryLock(podDir, LOCK_SH);
}

PodLock PodLock::create(const fs::path& podDir) {
  UniqueFd fd = openFile(podDir / "lock", O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    throwErrno("lock " + quote((podDir / "lock").string()));
  }
  return PodLock(std::move(fd));
}

int PodLock::inheritable() {
  int flags = ::fcntl(fd_.get(), F_GETFD);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFD, flags & ~FD_CLOEXEC) != 0) {
    throwErrno("clear FD_CLOEXEC on the pod lock");
  }
  return fd_.get();
}

State Pod::state() const {
  switch (dir) {
    case Dir::kEmbryo:
      return State::kEmbryo;
    case Dir::kPrepare:
      return PodLock::tryExclusive(path) ? State::kAbortedPrepare : State::kPreparing;
    case Dir::kPrepared:
      return State::kPrepared;
    case Dir::kRun:
      return PodLock::tryShared(path) ? State::kExited : State::kRunning;
    case Dir::kExitedGarbage:
      return State::kExitedGarbage;
    case Dir::kGarbage:
      return State::kGarbage;
  }
  return State::kGarbage;
}

Pods::Pods(const fs::path& dataDir) : root_(fs::absolute(dataDir).lexically_normal() / "pods") {
  // Pod state is root's alone: it holds --set-env secrets, the metadata service's token, and
  // overlay upper directories in which a pod may have planted setuid binaries. The data
  // directory ferry creates, pods/ and every state directory are 0700 (an older ferry's 0755
  // ones are tightened here); pod directories and their files are private as well (prepare).
  makeDirs(root_.parent_path(), 0700);
  makePrivateDir(root_);
  if (::faccessat(AT_FDCWD, root_.c_str(), R_OK | X_OK, AT_EACCESS) != 0) {
    throwErrno("read the pods in " + quote(root_.string()));
  }
  for (Dir d : kAllDirs) makePrivateDir(dirOf(d));
}

std::vector<Pod> Pods::list() const {
  std::vector<Pod> out;
  for (Dir d : kAllDirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dirOf(d), ec)) {
      std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      out.push_back({name, d, e.path()});
    }
    if (ec) throw std::system_error(ec, "cannot list " + quote(dirOf(d).string()));
  }
  return out;
}

std::optional<Pod> Pods::find(std::string_view ref) const {
  std::string want(ref);
  for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (want.empty()) return std::nullopt;
  if (want.size() == 36 && want.find('/') == std::string::npos && want[0] != '.') {
    // A pod only ever moves forward through kAllDirs: looked for in that order, a pod being
    // renamed is found in the directory it went to.
    for (Dir d : kAllDirs) {
      fs::path path = pathOf(d, want);
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Pod{want, d, path};
    }
  }
  std::optional<Pod> found;
  // A pod may show up twice while it is being renamed between two listings: the first wins.
  for (const auto& p : list()) {
    if (p.uuid.compare(0, want.size(), want) != 0) continue;
    if (p.uuid == want) return p;
    if (found && found->uuid != p.uuid) {
      throw Error(Errc::kInvalid,
                  "pod " + quote(ref) + " is ambiguous: " + found->uuid + ", " + p.uuid + ", …");
    }
    found = p;
  }
  return found;
}

Pod Pods::require(std::string_view ref) const {
  auto p = find(ref);
  if (!p) throw Error(Errc::kNotFound, "no pod " + quote(ref));
  return *p;
}

void Pods::move(Pod& pod, Dir to, Sync sync) const {
  fs::path dest = pathOf(to, pod.uuid);
  if (::rename(pod.path.c_str(), dest.c_str()) != 0) {
    throwErrno("move pod " + pod.uuid + " from " + std::string(dirName(pod.dir)) + " to " +
               std::string(dirName(to)));
  }
  if (sync == Sync::kDurable) {
    syncDir(dirOf(to));
    if (pod.dir != to) syncDir(dirOf(pod.dir));
  }
  pod.dir = to;
  pod.path = dest;
}

}  // namespace ferry::pod
