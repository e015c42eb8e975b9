// Paths inside an app's root filesystem, resolved by the kernel as if the root were "/":
// openat2(2) with RESOLVE_IN_ROOT, so ".." stops at the root and an absolute symlink
// (`/vol -> /`) lands inside the root, never on the host. Every mount stage2 makes before
// pivot_root goes through an O_PATH fd opened this way and is made on /proc/self/fd/N, so the
// path cannot be swapped for a symlink between the check and the mount.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/fs.hpp"

namespace ferry::stage2 {

enum class Follow {
  kInRoot,      // symlinks are followed, confined to the root
  kNoSymlinks,  // any symlink in the path is an error (ELOOP), e.g. for /proc and /sys
};

// openat2(rootFd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS [|
// RESOLVE_NO_SYMLINKS]). Returns an invalid UniqueFd and sets errno on failure.
UniqueFd openInRoot(int rootFd, std::string_view path, int flags, Follow follow = Follow::kInRoot);

// Like openInRoot(…, O_PATH), creating what is missing: the parent directories (mode 0755) and
// the last component as a directory or, when !directory, an empty regular file (mode 0644).
// Throws std::system_error "cannot create <what> …" naming the path.
UniqueFd createInRoot(int rootFd, std::string_view path, bool directory,
                      Follow follow = Follow::kInRoot);

// "/proc/self/fd/N": the path that mount(2) and friends accept for an fd.
std::string fdPath(int fd);

// The components of a path, without empty ones and ".": "/a//b/./c" → "a/b/c".
std::string cleanRelative(std::string_view path);

}  // namespace ferry::stage2
