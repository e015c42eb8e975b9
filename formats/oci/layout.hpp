// The OCI image layout: a directory holding `oci-layout`, `index.json` and `blobs/<alg>/<hex>`
// (image-layout.md).
//
// LayoutWriter creates or opens such a directory, streams blobs into it (BlobWriter) and names
// manifests in index.json with the `org.opencontainers.image.ref.name` annotation. LayoutReader
// opens one, resolves a ref (through nested indexes, to a platform) to an image manifest, and
// reads blobs verifying size and digest. Reading a layout packed in a tar archive is not
// supported here.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/blob_io.hpp"
#include "formats/oci/descriptor.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/oci/index.hpp"
#include "formats/oci/manifest.hpp"
#include "formats/oci/platform.hpp"

namespace ferry::oci {

inline constexpr std::string_view kLayoutVersion = "1.0.0";

// Reads <dir>/oci-layout and checks imageLayoutVersion (Error{kUnsupported} for another).
void checkLayoutHeader(const std::filesystem::path& dir);

class LayoutWriter {
 public:
  // Opens the layout at `dir`, creating the directory (not its parents) and the layout's files
  // when missing. An existing non-empty directory that is not a layout is refused.
  explicit LayoutWriter(std::filesystem::path dir);

  const std::filesystem::path& root() const { return root_; }

  // A streaming writer whose commit() stores the blob in this layout.
  BlobWriter newBlob(std::optional<Digest> expected = std::nullopt,
                     std::optional<int64_t> expectedSize = std::nullopt) const;
  // Stores a small blob (a manifest, a config) and returns its descriptor.
  Descriptor putBlob(std::string_view data, std::string mediaType) const;

  // Names `manifest` (a manifest or index descriptor) `ref` in index.json, replacing any entry of
  // that name. The rewrite is atomic; concurrent writers to one layout must serialize themselves.
  void tag(const Descriptor& manifest, std::string_view ref) const;

  ImageIndex index() const;

 private:
  std::filesystem::path root_;
};

class LayoutReader {
 public:
  // Throws Error{kNotFound} when `dir` is missing, Error{kUnsupported} when it is a file (a tar
  // archive) or of another layout version, Error{kInvalid} for malformed files.
  explicit LayoutReader(std::filesystem::path dir, const ParseOptions& opts = {});

  const std::filesystem::path& root() const { return root_; }
  const ImageIndex& index() const { return index_; }
  // The ref names in index.json, in order, without repeats.
  std::vector<std::string> refs() const;

  // The image manifest named `ref`, or, without a ref, of the layout's only image. Indexes on the
  // way are resolved to `platform`. Throws Error{kNotFound} listing the refs when there is no
  // such ref or no single image.
  Descriptor resolve(std::optional<std::string_view> ref = std::nullopt,
                     const Platform& platform = hostPlatform()) const;

  bool hasBlob(const Digest& d) const;
  BlobReader openBlob(const Descriptor& d) const;
  // A whole verified blob of at most maxSize bytes.
  std::string readBlob(const Descriptor& d, uint64_t maxSize = 4 << 20) const;

  ImageManifest readManifest(const Descriptor& d) const;
  ImageIndex readIndex(const Descriptor& d) const;
  ImageConfig readConfig(const Descriptor& d) const;

 private:
  std::filesystem::path root_;
  ParseOptions opts_;
  ImageIndex index_;
};

}  // namespace ferry::oci
