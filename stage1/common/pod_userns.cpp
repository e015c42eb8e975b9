#include "stage1/common/pod_userns.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// Owner, group and mode of a file of the pod directory, opened without following a symlink.
void setOwnerMode(const fs::path& path, uid_t uid, gid_t gid, mode_t mode, bool optional = false) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (optional && errno == ENOENT) return;
    throwErrno("open " + quote(path.string()));
  }
  if (::fchown(fd.get(), uid, gid) != 0) throwErrno("chown " + quote(path.string()));
  if (::fchmod(fd.get(), mode) != 0) throwErrno("chmod " + quote(path.string()));
}

void makeOwnedDir(const fs::path& path, uid_t uid, gid_t gid, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    throwErrno("create directory " + quote(path.string()));
  }
  setOwnerMode(path, uid, gid, mode);
}

}  // namespace

void sharePodDir(const fs::path& podDir, const RuntimeOptions& rt, uid_t uid, gid_t gid) {
  setOwnerMode(podDir, 0, gid, 01730);
  setOwnerMode(podDir / "runtime.json", 0, gid, 0640);
  setOwnerMode(podDir / "cgroups.json", 0, gid, 0640, true);
  for (const char* d : {"etc", "volumes"}) setOwnerMode(podDir / d, 0, gid, 0710, true);
  for (const char* d : {"status", "logs"}) makeOwnedDir(podDir / d, uid, gid, 0700);
  setOwnerMode(podDir / "apps", 0, gid, 0710);
  for (const RuntimeApp& app : rt.apps) {
    fs::path dir = podDir / "apps" / app.name;
    setOwnerMode(dir, 0, gid, 0710);
    setOwnerMode(dir / "config.json", 0, gid, 0640);
    // The upper directory's mode is the mode of the app's "/" (overlayfs takes it from there).
    makeOwnedDir(dir / "upper", uid, gid, 0755);
    makeOwnedDir(dir / "work", uid, gid, 0700);
    makeOwnedDir(dir / "lower", 0, 0, 0700);
  }
}

void chownProcsFiles(const std::vector<const cgroup::Group*>& groups, uid_t uid, gid_t gid) {
  for (const cgroup::Group* g : groups) {
    for (const std::string& f : g->procsFiles()) {
      if (::chown(f.c_str(), uid, gid) != 0) throwErrno("chown " + quote(f));
    }
  }
}

}  // namespace ferry::stage1
