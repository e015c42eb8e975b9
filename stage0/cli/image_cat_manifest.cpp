// `ferry image cat-manifest IMAGE`: the appc image manifest or the OCI manifest, as stored.
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/cli/image_ref.hpp"
#include "stage0/store/store.hpp"

namespace ferry::cli {

int imageCatManifestCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry image cat-manifest [--pretty-print=false] IMAGE",
                 "Print an image's manifest: the appc image manifest of an ACI, the OCI (or "
                 "Docker) manifest of an OCI image.");
  addGlobalOptions(p, ctx.global);
  bool pretty = true;
  p.flag("pretty-print", "indent the JSON (default true)", &pretty);
  p.positionals(1, 1);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (!storeExists(ctx.global)) throwNoSuch(ctx.global, "image", pos[0]);
  store::Store store = store::Store::open(ctx.global.dir);
  auto r = std::optional<store::ImageRecord>(findStoredImage(store, pos[0]));
  std::string text;
  if (r->kind == store::ImageKind::kAci) {
    text = r->appcManifest;
  } else {
    for (const auto& b : r->blobs) {
      if (b.role == store::BlobRole::kManifest) {
        text = store.openBlob(b.digest).readAll(4 << 20);
        break;
      }
    }
  }
  if (text.empty()) throw Error(Errc::kNotFound, "image " + r->id + " has no manifest");
  ctx.out << (pretty ? json::print(json::parse(text, "manifest of " + r->id), true)
                     : json::escapeTerminalControls(std::move(text)))
          << "\n";
  return kExitOk;
}

}  // namespace ferry::cli
