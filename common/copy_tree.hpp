// Copying a directory tree with everything a root filesystem carries.
//
// copyTree() recreates `from` at `to` (which must not exist): directories, regular files
// (copy_file_range, so reflinks/server-side copies where the file system offers them),
// symlinks (never followed), device nodes, fifos and sockets, hard links (kept as links within
// the copy), owners, modes (setuid/setgid/sticky included), extended attributes (security.*
// and trusted.* too, as root) and modification times. Nothing under `from` is followed out of
// it. Errors name the path and the operation.
//
// With an ID shift (a pod in a user namespace whose IDs 0…idCount-1 are host IDs
// idShift…: --private-users where the tree cannot be idmapped), owners N < idCount become
// idShift+N and any other owner the host's overflow ID 65534 (what the pod would see through an
// idmapped mount: "nobody"); character and block devices are skipped (stage2 binds the host's
// nodes the app may use), and so are the extended attributes that hold host IDs or host
// privileges (security.capability, system.posix_acl_*).
#pragma once

#include <cstdint>
#include <filesystem>

namespace ferry {

struct CopyTreeOptions {
  bool ignoreXattrErrors = false;  // a file system without xattr support at the destination
  uint32_t idShift = 0;            // 0: owners as they are
  uint32_t idCount = 0;            // with idShift: how many IDs the shift maps
};

void copyTree(const std::filesystem::path& from, const std::filesystem::path& to,
              const CopyTreeOptions& options = {});

}  // namespace ferry
