// One member of a tar archive, as ferry sees it.
//
// Entry is a plain value: the Reader fills it from a tar header (after normalizing and checking
// the name), the Writer turns it back into a header, and the extractor and layer flattener act
// on it. Paths are always relative and normalized (see normalizePath); they never contain
// ".", "..", empty components, or a NUL byte.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::archive {

enum class Type { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo };

std::string_view typeName(Type t);  // "regular file", "directory", …

struct Entry {
  std::string path;  // normalized, relative
  Type type = Type::kFile;
  uint32_t mode = 0644;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string uname;
  std::string gname;
  int64_t mtimeSec = 0;
  uint32_t mtimeNsec = 0;
  uint64_t size = 0;       // data bytes that follow (regular files; 0 otherwise)
  std::string linkTarget;  // symlink: verbatim; hardlink: normalized path in the same archive
  uint32_t devMajor = 0;
  uint32_t devMinor = 0;
  std::map<std::string, std::string> xattrs;  // name → raw value

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Normalizes an archive member name: strips leading "./" components and a trailing "/", drops
// "." and empty components. Returns the reason it is unacceptable instead when the name is
// empty (after normalization, and allowRoot is false), absolute, contains "..", or contains a
// NUL byte.
struct NormalizedPath {
  std::string path;   // valid when error is empty
  std::string error;  // "path is absolute", "path escapes with ..", …
};
NormalizedPath normalizePath(std::string_view name, bool allowRoot = false);

// Parent of a normalized path ("" for a top-level name) and its last component.
std::string_view parentPath(std::string_view path);
std::string_view baseName(std::string_view path);

// True when `path` equals `ancestor` or lies below it (both normalized; "" is the root).
bool isWithin(std::string_view path, std::string_view ancestor);

// Convenience constructors for tests and writers.
Entry fileEntry(std::string path, uint64_t size, uint32_t mode = 0644);
Entry dirEntry(std::string path, uint32_t mode = 0755);
Entry symlinkEntry(std::string path, std::string target);
Entry hardlinkEntry(std::string path, std::string target);

}  // namespace ferry::archive
