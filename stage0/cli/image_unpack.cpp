// `ferry image extract | render IMAGE DIR`: an image of the store as a directory.
#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/cli/image_ref.hpp"
#include "stage0/image/unpack.hpp"

namespace ferry::cli {

namespace {

int unpackCommand(Context& ctx, const std::vector<std::string>& args, bool render) {
  OptionParser p(
      render ? "ferry image render [--rootfs-only] [--overwrite] IMAGE DIR"
             : "ferry image extract [--rootfs-only] [--overwrite] IMAGE DIR",
      render ? "Write the root filesystem an image runs with (dependencies or layers applied)."
             : "Write an image as it is, without its dependencies.",
      std::string(
          render ? "A tree a pod rendered in the tree store is copied; otherwise the rootfs is\n"
                   "rendered straight into DIR (the tree store is left as it is).\n"
                 : "An ACI's tar is extracted; an OCI image's layers are applied.\n") +
          "DIR gets rootfs/ and the manifest (ACI: manifest; OCI: manifest.json and "
          "config.json),\n"
          "or with --rootfs-only the rootfs itself. DIR must be new or an empty directory\n"
          "(with --overwrite, a directory's old content is replaced).");
  addGlobalOptions(p, ctx.global);
  bool rootfsOnly = false;
  p.flag("rootfs-only", "write only the root filesystem into DIR", &rootfsOnly);
  bool overwrite = false;
  p.flag("overwrite", "replace what DIR holds", &overwrite);
  p.positionals(2, 2);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (!storeExists(ctx.global)) throwNoSuch(ctx.global, "image", pos[0]);
  store::Store store = store::Store::open(ctx.global.dir);
  auto r = std::optional<store::ImageRecord>(findStoredImage(store, pos[0]));
  image::UnpackOptions o{pos[1], rootfsOnly, overwrite};
  if (render) {
    image::renderImage(store, *r, o);
  } else {
    image::extractImage(store, *r, o);
  }
  return kExitOk;
}

}  // namespace

int imageExtractCommand(Context& ctx, const std::vector<std::string>& args) {
  return unpackCommand(ctx, args, false);
}

int imageRenderCommand(Context& ctx, const std::vector<std::string>& args) {
  return unpackCommand(ctx, args, true);
}

}  // namespace ferry::cli
