// Deterministic tar writer with integrity hashing.
//
// The Writer turns Entries and their data into a pax tar stream (see tar_header.hpp: the bytes
// depend on the entries alone, so identical input gives identical output), compresses it with
// gzip (zlib) or zstd or not at all, and writes it to a descriptor. While doing so it hashes
// the uncompressed tar stream (an OCI diff_id, an appc image ID) and the compressed output (an
// OCI blob digest). The tar stream is cut into 1 MiB blocks; with `pipelined` the blocks are
// hashed, compressed and written on a second thread while the caller produces the next ones.
//
// gzip output is deterministic for a given level (the header carries no name or time) and
// workers == 0, or for any workers >= 1. zstd likewise (libzstd produces the same frames
// whatever the worker count ≥ 1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/digest.hpp"
#include "formats/archive/compression.hpp"
#include "formats/archive/entry.hpp"

namespace ferry::archive {

class Reader;

struct WriterOptions {
  Compression compression = Compression::kNone;  // kNone, kGzip or kZstd
  // 0: the default (gzip: ISA-L level 1, about gzip -1; zstd 3); gzip 1-9: zlib at that level
  int level = 0;
  // Compression threads (0: compress on the writer's own thread). zstd: libzstd workers.
  // gzip: pigz-style, the 1 MiB blocks deflated in parallel (each primed with the previous
  // 32 KiB) into one gzip member that any gunzip reads.
  int workers = 0;
  bool pipelined = true;  // hash, compress and write on a second thread
  std::optional<DigestAlgorithm> compressedDigest = DigestAlgorithm::kSha256;
  std::optional<DigestAlgorithm> uncompressedDigest = DigestAlgorithm::kSha256;
  std::string name = "archive";  // for messages
};

struct WriteResult {
  std::optional<Digest> compressedDigest;
  uint64_t compressedSize = 0;
  std::optional<Digest> uncompressedDigest;
  uint64_t uncompressedSize = 0;
};

class Writer {
 public:
  // Writes to fd, which stays owned by the caller (to fsync and rename it afterwards).
  Writer(int fd, WriterOptions options = {});
  ~Writer();  // without finish(), stops the pipeline; the output is incomplete
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Starts an entry. Its path (and a hardlink's target) must be normalized; a regular file's
  // data (exactly entry.size bytes) follows through write(). Error{kInvalid} otherwise.
  void add(const Entry& entry);
  void write(const void* data, size_t size);
  // Copies the current entry's data from a reader (after add() of the same entry).
  void copyData(Reader& reader);
  // Copies every remaining entry of the reader with its data.
  void copyFrom(Reader& reader);

  // Ends the archive (two zero blocks), flushes the compressor and returns the digests.
  WriteResult finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::archive
