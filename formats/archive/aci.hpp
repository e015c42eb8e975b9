// appc images (ACIs) as archives.
//
// An ACI is a tar (compressed or not) holding exactly two top-level names: `manifest`, a regular
// file, and `rootfs`, a directory; no name appears twice. Its image ID is "sha512-" plus the hex
// sha512 of the uncompressed tar stream. readAci() checks that structure while streaming and
// hands the manifest and every rootfs entry (path relative to rootfs) to a visitor; the ID comes
// out of the same pass. AciWriter is the converse, on top of Writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "formats/archive/extract.hpp"
#include "formats/archive/reader.hpp"
#include "formats/archive/writer.hpp"

namespace ferry::archive {

constexpr uint64_t kDefaultMaxManifestSize = 1 << 20;

class AciVisitor {
 public:
  AciVisitor() = default;
  virtual ~AciVisitor() = default;
  AciVisitor(const AciVisitor&) = delete;
  AciVisitor& operator=(const AciVisitor&) = delete;

  // The manifest's bytes, whenever the entry appears (before, between or after rootfs entries).
  virtual void manifest(const std::string& bytes) = 0;
  // A rootfs entry: path (and a hardlink's target) relative to rootfs. Data through `data`.
  virtual void entry(const Entry& e, Reader& data) = 0;
};

struct AciReadOptions {
  ReaderOptions reader = {};  // uncompressedDigest is forced to sha512
  uint64_t maxManifestSize = kDefaultMaxManifestSize;
};

struct AciInfo {
  std::string imageId;  // "sha512-<128 hex>"
  std::string manifest;
  ReadResult read;
};

// Streams an ACI through `visitor`. Errors: entries outside manifest/rootfs and duplicates
// are Error{kSecurity}; a manifest that is not a regular file or is missing, or a rootfs that
// is not a directory, Error{kInvalid}; a manifest above maxManifestSize, Error{kLimit}.
AciInfo readAci(Reader& reader, AciVisitor& visitor,
                uint64_t maxManifestSize = kDefaultMaxManifestSize);
AciInfo readAci(const std::filesystem::path& path, AciVisitor& visitor,
                AciReadOptions options = {});

// Extracts an ACI's rootfs into `target` (see extract.hpp; duplicates are always rejected) and
// returns its manifest and ID. On error the target is removed as extract() does.
AciInfo extractAci(const std::filesystem::path& path, const std::filesystem::path& target,
                   ExtractOptions options = {}, AciReadOptions readOptions = {});

struct AciWriteResult {
  std::string imageId;
  WriteResult write;
};

// Writes `manifest`, then the `rootfs` directory entry, then entries given relative to rootfs.
class AciWriter {
 public:
  // options.uncompressedDigest is forced to sha512. rootfsDir carries the metadata of the
  // rootfs directory (its path is ignored).
  AciWriter(int fd, std::string_view manifest, WriterOptions options = {},
            Entry rootfsDir = dirEntry("rootfs"), int64_t manifestMtime = 0);

  void add(const Entry& e);  // e.path relative to rootfs
  void write(const void* data, size_t size);
  void copyData(Reader& reader);
  AciWriteResult finish();

 private:
  static WriterOptions adjust(WriterOptions o);
  Writer writer_;
};

}  // namespace ferry::archive
