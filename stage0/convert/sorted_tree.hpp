// Collects a stream of archive entries and gives them back in canonical order.
//
// flattenLayers() produces entries grouped by layer, top layer first, so a directory can come
// after its children and a directory's children can be spread over the stream. Extractors that
// set a directory's metadata when they leave it (GNU tar, for one) then get directory mtimes
// wrong. SortedTree keeps each entry's header in memory and its data in a spool file, and emits
// them sorted so that every directory precedes its children and each subtree is contiguous;
// within a hardlink group the first path in that order carries the data and the others link to
// it (tar requires a link's target to come first). The output is deterministic.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "formats/archive/layer.hpp"
#include "formats/archive/writer.hpp"

namespace ferry::convert {

class SortedTree : public archive::LayerSink {
 public:
  // The spool is an unnamed temporary file in spoolDir.
  explicit SortedTree(const std::filesystem::path& spoolDir);

  void entry(const archive::Entry& e, archive::Reader& data) override;

  // The data of a regular file, if present and at most maxSize bytes.
  std::optional<std::string> fileData(std::string_view path, uint64_t maxSize) const;

  // Writes every entry, sorted, to `w`, each path prefixed with `prefix` (e.g. "rootfs/").
  void writeTo(archive::Writer& w, std::string_view prefix);

 private:
  struct Item {
    archive::Entry entry;
    uint64_t offset = 0;  // of the data in the spool
  };
  void sort();

  UniqueFd spool_;
  std::string spoolName_;
  uint64_t spoolSize_ = 0;
  std::vector<Item> items_;
};

// Component-wise path order: "a" < "a/b" < "a-b" (a '/' sorts before every other byte).
bool pathLess(std::string_view a, std::string_view b);

}  // namespace ferry::convert
