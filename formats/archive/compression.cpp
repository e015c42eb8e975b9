#include "formats/archive/compression.hpp"

#include <cstring>

namespace ferry::archive {

std::string_view compressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kXz:
      return "xz";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

Compression detectCompression(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  auto has = [&](std::initializer_list<unsigned char> magic) {
    if (size < magic.size()) return false;
    return std::memcmp(p, std::data(magic), magic.size()) == 0;
  };
  if (has({0x1f, 0x8b})) return Compression::kGzip;
  if (has({'B', 'Z', 'h'})) return Compression::kBzip2;
  if (has({0xfd, '7', 'z', 'X', 'Z', 0x00})) return Compression::kXz;
  if (has({0x28, 0xb5, 0x2f, 0xfd})) return Compression::kZstd;
  return Compression::kNone;
}

}  // namespace ferry::archive
