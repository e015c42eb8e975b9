// The app's own mount namespace and root filesystem (stage1/ABI.md §5).
//
// Rootfs walks the steps in order: enter() unshares a mount namespace and makes every mount
// private (nothing propagates back to the pod or the host), binds the bundle's rootfs onto itself
// so it is a mount point; mount() applies one config.json mount, resolving its destination inside
// the root (in_root.hpp) and creating what is missing; pivot() makes the rootfs "/" and detaches
// the old root. finish() then applies, inside the new root: sysctls, readonlyPaths, maskedPaths
// and the read-only root. A tmpfs mounted on /dev is filled with the appc OS spec's devices
// (null zero full random urandom tty console, pts/ and shm/, ptmx → pts/ptmx, fd/std* links)
// plus linux.devices.
//
// Hostile images: a destination is resolved with RESOLVE_IN_ROOT, so `/vol -> /` lands on the
// root inside; a destination that resolves to the root itself is refused, and proc and sysfs
// must be mounted on real directories (a symlink anywhere in their path is refused), as runc
// does for /proc.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "formats/oci/runtime_spec.hpp"

namespace ferry::stage2 {

class Rootfs {
 public:
  // bundle: the directory holding config.json; rootPath: root.path (relative to the bundle, or
  // absolute).
  Rootfs(std::filesystem::path bundle, std::filesystem::path rootPath);
  Rootfs(const Rootfs&) = delete;
  Rootfs& operator=(const Rootfs&) = delete;

  void enter();
  // `terminal`: process.terminal; /dev/console is then the caller's terminal on stdin, else
  // /dev/null.
  void mount(const oci::Mount& m, const std::vector<oci::LinuxDevice>& devices, bool terminal);
  void pivot();

 private:
  void populateDev(const std::vector<oci::LinuxDevice>& devices, bool terminal);
  void createDevice(const oci::LinuxDevice& d);

  std::filesystem::path bundle_;
  std::filesystem::path root_;  // absolute host path of the rootfs
  UniqueFd rootFd_;             // O_PATH, the rootfs after it was bound onto itself
};

// After pivot(): sysctl, readonlyPaths, maskedPaths, root.readonly.
void finishRootfs(const oci::RuntimeSpec& spec);

}  // namespace ferry::stage2
