// Streaming tar reader with integrity hashing.
//
// A Reader reads one tar stream, compressed or not (detected by content), from a file or a
// descriptor, strictly front to back: the descriptor may be a pipe. Internally two libarchive
// readers are stacked: an outer one (format "raw", only the detected filter) turns compressed
// bytes into the uncompressed tar stream, which the Reader hashes and hands to an inner tar
// reader. So one pass yields both the compressed digest (e.g. an OCI blob digest) and the
// uncompressed digest (an OCI diff_id, an appc image ID), covering every byte including the
// end-of-archive blocks and padding (finish() drains the stream to its end).
//
// Every name is normalized and checked as it is read (see normalizePath); a bad entry or a
// bound exceeded throws ferry::Error naming the archive and the entry:
//   cannot read archive "x.aci": entry "rootfs/../etc/passwd": path escapes with ..
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "formats/archive/compression.hpp"
#include "formats/archive/entry.hpp"

namespace ferry::archive {

struct ReaderOptions {
  std::optional<DigestAlgorithm> compressedDigest = std::nullopt;    // of the bytes as stored
  std::optional<DigestAlgorithm> uncompressedDigest = std::nullopt;  // of the tar stream
  uint64_t maxEntrySize = uint64_t{64} << 30;                        // declared size of one entry
  uint64_t maxTotalSize = uint64_t{256} << 30;  // uncompressed tar stream, headers included
  uint64_t maxEntries = 10'000'000;
  // Sees every block of the uncompressed tar stream, in order, as it is read (e.g. to store an
  // ACI's tar under its ID while checking it in the same pass).
  std::function<void(const void* data, size_t size)> uncompressedTee = {};
  // Sees every byte of the stream as stored (compressed), in order, once (e.g. to keep an ACI
  // exactly as it was fetched while checking it).
  std::function<void(const void* data, size_t size)> compressedTee = {};
  // Decompress (and hash) on a thread of its own, a few blocks ahead of the tar reader, so that
  // inflating the stream overlaps what the caller does with its entries (e.g. creating files).
  // Only for a compressed stream read from a file and without tees (they would run on that
  // thread); otherwise ignored. Errors and results are the same as without it.
  bool decompressAhead = false;
};

struct ReadResult {
  Compression compression = Compression::kNone;
  std::optional<Digest> compressedDigest;
  uint64_t compressedSize = 0;
  std::optional<Digest> uncompressedDigest;
  uint64_t uncompressedSize = 0;
  uint64_t entries = 0;
};

class Reader {
 public:
  // Opens a file; `name` in messages is the path.
  explicit Reader(const std::filesystem::path& path, ReaderOptions options = {});
  // Reads from a descriptor (file or pipe) from its current position.
  Reader(UniqueFd fd, std::string name, ReaderOptions options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Compression compression() const;
  const std::string& name() const;

  // Advances to the next entry (skipping unread data of the current one). False at the end.
  bool next(Entry& entry);

  // Reads data of the current entry; 0 at its end. Sparse holes read as zeros.
  size_t read(void* buffer, size_t size);
  // Zero-copy variant: the next chunk of the current entry's data, valid until the next call;
  // empty at its end.
  std::string_view readChunk();
  // Bytes of the current entry's data not yet read.
  uint64_t remaining() const;

  // Reads to the end of the stream (remaining entries are still checked), then returns the
  // digests and sizes. The Reader cannot be used afterwards.
  ReadResult finish();

  // Error{code}: "cannot read archive <name>: entry <entry>: <cause>" (without the entry part
  // when `entry` is empty). For the layers built on the Reader, so messages look alike.
  Error error(Errc code, std::string_view entry, std::string_view cause) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::archive
