// Helpers for the archive targets: bounded Reader options and an entry's data read in full.
#pragma once

#include <string>

#include "formats/archive/entry.hpp"
#include "formats/archive/reader.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace ferry::fuzz {

// Small bounds, so that a few bytes of compressed input cannot make a target run out of memory
// or time (a zstd or xz bomb is cut at maxTotalSize).
inline archive::ReaderOptions boundedOptions() {
  archive::ReaderOptions o;
  o.compressedDigest = DigestAlgorithm::kSha256;
  o.uncompressedDigest = DigestAlgorithm::kSha256;
  o.maxEntrySize = uint64_t{1} << 20;
  o.maxTotalSize = uint64_t{8} << 20;
  o.maxEntries = 4096;
  return o;
}

// Checks what the Reader documents of an entry it returned.
inline void checkEntry(const archive::Entry& e) {
  archive::NormalizedPath np = archive::normalizePath(e.path);
  check(np.error.empty() && np.path == e.path, "entry path is not normalized", e.path);
  if (e.type == archive::Type::kHardlink) {
    archive::NormalizedPath t = archive::normalizePath(e.linkTarget);
    check(t.error.empty() && t.path == e.linkTarget, "hardlink target is not normalized",
          e.linkTarget);
  }
  check(e.type == archive::Type::kFile || e.size == 0, "non-file entry with a size", e.path);
  check((e.mode & ~07777u) == 0, "mode beyond 07777", e.path);
}

// Reads the current entry's data to its end, alternating the zero-copy and the copying calls
// (with an odd-sized buffer, so read() gives back parts of chunks), and checks that exactly
// e.size bytes come out.
inline std::string readData(archive::Reader& r, const archive::Entry& e, size_t step) {
  std::string out;
  char buf[4096];
  bool chunk = false;
  for (;;) {
    uint64_t before = r.remaining();
    size_t got;
    if (chunk) {
      std::string_view c = r.readChunk();
      out.append(c);
      got = c.size();
    } else {
      got = r.read(buf, step);
      out.append(buf, got);
    }
    check(r.remaining() == before - got, "remaining() does not follow the data read", e.path);
    if (got == 0) break;
    chunk = !chunk;
  }
  check(out.size() == e.size, "entry data differs in length from its size", e.path);
  check(r.remaining() == 0, "remaining() is not 0 at the end of the data", e.path);
  return out;
}

}  // namespace ferry::fuzz
