// Compression formats of tar streams, detected by content (magic bytes), never by file name.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ferry::archive {

enum class Compression { kNone, kGzip, kBzip2, kXz, kZstd };

std::string_view compressionName(Compression c);  // "none", "gzip", "bzip2", "xz", "zstd"

// Looks at the first bytes of a stream (at least 6 for a certain answer). Anything that is not
// one of the four magic numbers is kNone (the tar reader then decides whether it is a tar).
Compression detectCompression(const void* data, size_t size);

}  // namespace ferry::archive
