// Rendering an ACI with its appc dependencies into one tree of entries, the way the appc spec
// lays a rootfs down: the image's own files first win, then its dependencies (the later one in
// the list wins over the earlier, each followed by its own dependencies), each image's
// pathWhitelist filtering its own non-directory files, and the top-most whitelist of a branch
// filtering everything below it. Dependencies come from a lookup function (the image store, by
// image ID or by name and labels) or from local directories of ACIs; cycles are errors.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/appc/image_manifest.hpp"
#include "formats/archive/entry.hpp"
#include "formats/archive/reader.hpp"

namespace ferry::convert {

struct RenderImage {
  std::filesystem::path path;
  appc::ImageManifest manifest;
  std::string id;
  int level = 0;
};

// Finds one dependency (an uncompressed or compressed ACI file, its manifest and ID; `level` is
// ignored), or nullopt. A dependency with an imageID must resolve to that ID.
using FindDependencyFn = std::function<std::optional<RenderImage>(const appc::Dependency&)>;

// Resolves the dependencies of `top` through `find` and returns the render order: top first,
// then depth first with each image's dependencies in reverse order. `where` names the place
// searched in "not found" errors ("the image store").
std::vector<RenderImage> resolveDependencies(const RenderImage& top, const FindDependencyFn& find,
                                             std::string_view where);

// The same, finding dependencies among the ACIs in `dirs` (by ID, or by name and labels).
std::vector<RenderImage> resolveDependencies(const RenderImage& top,
                                             const std::vector<std::filesystem::path>& dirs);

// Streams the final entries (paths relative to rootfs) of the rendered images to `emit`.
using EmitFn = std::function<void(const archive::Entry&, archive::Reader&)>;
void renderImages(const std::vector<RenderImage>& images, const EmitFn& emit);

}  // namespace ferry::convert
