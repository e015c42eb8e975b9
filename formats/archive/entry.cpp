#include "formats/archive/entry.hpp"

namespace ferry::archive {

std::string_view typeName(Type t) {
  switch (t) {
    case Type::kFile:
      return "regular file";
    case Type::kDir:
      return "directory";
    case Type::kSymlink:
      return "symlink";
    case Type::kHardlink:
      return "hardlink";
    case Type::kChar:
      return "character device";
    case Type::kBlock:
      return "block device";
    case Type::kFifo:
      return "fifo";
  }
  return "unknown";
}

NormalizedPath normalizePath(std::string_view name, bool allowRoot) {
  NormalizedPath r;
  if (name.find('\0') != std::string_view::npos) {
    r.error = "path contains a NUL byte";
    return r;
  }
  if (!name.empty() && name.front() == '/') {
    r.error = "path is absolute";
    return r;
  }
  std::string out;
  out.reserve(name.size());
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view comp = name.substr(i, j - i);
    if (comp == "..") {
      r.error = "path escapes with ..";
      return r;
    }
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out += '/';
      out += comp;
    }
    i = j + 1;
  }
  if (out.empty() && !allowRoot) {
    r.error = "path is empty";
    return r;
  }
  r.path = std::move(out);
  return r;
}

std::string_view parentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view baseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool isWithin(std::string_view path, std::string_view ancestor) {
  if (ancestor.empty()) return true;
  if (!path.starts_with(ancestor)) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

Entry fileEntry(std::string path, uint64_t size, uint32_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = Type::kFile;
  e.size = size;
  e.mode = mode;
  return e;
}

Entry dirEntry(std::string path, uint32_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = Type::kDir;
  e.mode = mode;
  return e;
}

Entry symlinkEntry(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = Type::kSymlink;
  e.mode = 0777;
  e.linkTarget = std::move(target);
  return e;
}

Entry hardlinkEntry(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = Type::kHardlink;
  e.linkTarget = std::move(target);
  return e;
}

}  // namespace ferry::archive
