// Streaming blob I/O that checks content against its digest.
//
// BlobWriter hashes bytes as they are written to a temporary file and, on commit(), fsyncs the
// file and renames it to its content address `blobs/<alg>/<hex>` under a root directory (an
// oci-layout, or any store using the same scheme). BlobReader hands out a blob's bytes and
// verifies size and digest as they pass: reading past the declared size, or reaching the end with
// a different size or digest, throws Error{kDigestMismatch}. The digest is validated by Digest,
// so a blob path can never leave the blobs directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/fs.hpp"
#include "formats/oci/descriptor.hpp"

namespace ferry::oci {

// blobs/<alg>/<hex>, relative.
std::filesystem::path blobPath(const Digest& d);

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
  Descriptor descriptor(std::string mediaType) const {
    return Descriptor(std::move(mediaType), digest, size);
  }
};

class BlobWriter {
 public:
  // Writes into a temporary file directly under `root` (same filesystem as the blobs). When
  // `expected` is given its algorithm is used and commit() checks the digest; `expectedSize`
  // bounds and checks the size. Otherwise `algorithm` is used.
  BlobWriter(std::filesystem::path root, std::optional<Digest> expected = std::nullopt,
             std::optional<int64_t> expectedSize = std::nullopt,
             DigestAlgorithm algorithm = DigestAlgorithm::kSha256);
  ~BlobWriter();  // removes the temporary file unless committed
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) = delete;
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  int64_t written() const { return written_; }

  // For a caller that hashes the same bytes itself and checks them against `expected` before
  // it commits (the registry client verifies every blob as it streams): write() stops hashing
  // and commit() names the blob by `expected` (the size is still checked). Requires `expected`;
  // call it before the first write().
  void trustCallerDigest();

  // Checks digest and size, fsyncs and renames into root/blobs/<alg>/<hex>. The writer cannot be
  // used afterwards. On a mismatch the temporary file is removed and Error{kDigestMismatch} thrown.
  BlobInfo commit();

  // The temporary file the bytes go to (until commit): a caller may read back what it wrote.
  const std::string& tempPath() const { return tmpPath_; }

 private:
  void discard() noexcept;

  std::filesystem::path root_;
  std::optional<Digest> expected_;
  std::optional<int64_t> expectedSize_;
  Hasher hasher_;
  UniqueFd fd_;
  std::string tmpPath_;
  int64_t written_ = 0;
  bool trustCaller_ = false;
};

class BlobReader {
 public:
  BlobReader(UniqueFd fd, Digest expected, int64_t expectedSize, std::string name);
  BlobReader(BlobReader&&) noexcept = default;
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  // Up to `size` bytes; 0 once the whole blob has been read and verified. The call that reaches
  // the declared size verifies it (so a reader that stops there has checked the blob too).
  size_t read(void* data, size_t size);
  // The rest of the blob, refusing more than maxSize bytes (Error{kLimit}).
  std::string readAll(uint64_t maxSize);

  int64_t size() const { return expectedSize_; }
  bool verified() const { return verified_; }

 private:
  [[noreturn]] void mismatch(const std::string& why) const;
  void verify();

  UniqueFd fd_;
  Digest expected_;
  int64_t expectedSize_;
  std::string name_;
  Hasher hasher_;
  int64_t read_ = 0;
  bool verified_ = false;
};

}  // namespace ferry::oci
