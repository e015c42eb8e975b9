// Copying a directory tree with everything a root filesystem carries.
//
// copyTree() recreates `from` at `to` (which must not exist): directories, regular files
// (copy_file_range, so reflinks/server-side copies where the file system offers them),
// symlinks (never followed), device nodes, fifos and sockets, hard links (kept as links within
// the copy), owners, modes (setuid/setgid/sticky included), extended attributes (security.*
// and trusted.* too, as root) and modification times. Nothing under `from` is followed out of
// it. Errors name the path and the operation.
#pragma once

#include <filesystem>

namespace ferry {

struct CopyTreeOptions {
  bool ignoreXattrErrors = false;  // a file system without xattr support at the destination
};

void copyTree(const std::filesystem::path& from, const std::filesystem::path& to,
              const CopyTreeOptions& options = {});

}  // namespace ferry
