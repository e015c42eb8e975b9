// OCI image layers: whiteouts, flattening, applying.
//
// A layer is a tar changeset over the layers below it. `.wh.NAME` deletes NAME of lower layers;
// `.wh..wh..opq` in a directory hides every lower-layer child of that directory. Whiteouts
// never hide entries of their own layer.
//
// flattenLayers() merges layers into the final set of entries without touching the disk: it
// reads layers top to bottom and lets an entry through only if no higher layer already gave
// that path, whited it (or an ancestor) out, made an ancestor opaque, or turned an ancestor
// into a non-directory. Markers are never passed on. Consequently entries come out grouped by
// layer, top layer first (a child can precede its parent directory; extractors create missing
// parents). Limits, documented and reported as Error{kUnsupported}:
// - a path given twice in one layer (tar's "last wins" would need a second pass);
// - a hardlink whose target is not an earlier entry of the same layer (tar requires that
//   anyway) or whose target a higher layer shadows.
// Other `.wh..wh.` names (aufs metadata such as `.wh..wh.plnk`) are dropped.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "formats/archive/extract.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::archive {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

bool isWhiteout(std::string_view path);  // any marker, opaque included
bool isOpaque(std::string_view path);
// The path a plain whiteout deletes ("a/.wh.b" → "a/b"); for an opaque marker, the directory
// it makes opaque ("a/.wh..wh..opq" → "a", "" at the top). Precondition: isWhiteout(path).
std::string whiteoutTarget(std::string_view path);
// Markers as a layer writer emits them (empty regular files, mode 0).
Entry whiteoutEntry(std::string_view deletedPath);
Entry opaqueEntry(std::string_view directory);

class LayerSink {
 public:
  LayerSink() = default;
  virtual ~LayerSink() = default;
  LayerSink(const LayerSink&) = delete;
  LayerSink& operator=(const LayerSink&) = delete;
  // A final entry; a regular file's data is read from `data`.
  virtual void entry(const Entry& e, Reader& data) = 0;
};

// Layers are given bottom to top. Returns each layer's ReadResult (same order) with the digests
// asked for in `options` (e.g. sha256 uncompressed to check diff_ids).
std::vector<ReadResult> flattenLayers(const std::vector<std::filesystem::path>& layers,
                                      LayerSink& sink, const ReaderOptions& options = {});

// Reads a whole layer without writing anything and refuses, with Error{kSecurity} naming the
// entry, what extraction would refuse and the layer alone shows: bad names (the Reader), device
// nodes (unless allowDevices), an entry or a hardlink target below a symlink the same layer
// made. (A symlink of a lower layer is only known when rendering; applyLayer refuses that.)
// Fetchers run it while a layer downloads, so a hostile layer never reaches the store.
ReadResult checkLayer(Reader& layer, bool allowDevices = false);

// Extracts one layer onto an existing tree `dir` (the lower layers), applying whiteouts and
// opaque markers, with every check of checkLayer() (devices as options.allowDevices says) and
// those of extract.hpp (Extractor::Target::kExisting: no rollback). A fetch that renders while
// it verifies relies on it refusing at least what checkLayer() refuses.
ExtractStats applyLayer(Reader& layer, const std::filesystem::path& dir,
                        const ExtractOptions& options = {});

}  // namespace ferry::archive
