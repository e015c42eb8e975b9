// Encoding of tar headers (internal to the Writer).
//
// ferry writes POSIX pax (ustar with 'x' extended headers) and nothing else: a plain ustar header
// when the entry fits, preceded by one extended header for whatever does not (long names and
// link targets, nanosecond mtimes, large sizes and ids, long user/group names, xattrs as
// SCHILY.xattr.*). No atime, ctime, pid or other varying field is ever written, so the bytes
// depend on the Entry alone. GNU tar, libarchive and Go's archive/tar read this format.
#pragma once

#include <string>

#include "formats/archive/entry.hpp"

namespace ferry::archive::detail {

constexpr size_t kBlockSize = 512;

// Appends the header block(s) for `e` (extended header + its data, then the ustar header).
void appendHeader(const Entry& e, std::string& out);

// Zero bytes needed after `size` bytes of data to reach a block boundary.
inline size_t paddingFor(uint64_t size) {
  return static_cast<size_t>((kBlockSize - size % kBlockSize) % kBlockSize);
}

}  // namespace ferry::archive::detail
