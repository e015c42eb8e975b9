// `ferry image export IMAGE DEST`: an image of the store as an ACI file or an OCI layout.
#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/cli/image_ref.hpp"
#include "stage0/image/export.hpp"

namespace ferry::cli {

int imageExportCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(
      "ferry image export [flags] IMAGE DEST",
      "Write an image of the store to an ACI file or an OCI image layout.",
      "DEST is an ACI file (x.aci) or an OCI layout oci:DIR[:REF] (created, or added to);\n"
      "with --to=oci, DEST may be written DIR[:REF].\n"
      "An appc image is written byte for byte as it was fetched; an OCI image as an ACI, or an\n"
      "appc image as an OCI layout, goes through the translation (losses printed on stderr).\n"
      "REF defaults to the image's newest tag, else the ACI's version label, else latest.");
  addGlobalOptions(p, ctx.global);
  std::string to;
  bool overwrite = false;
  p.value("to", "aci|oci", "the format to write (checked against DEST)", &to);
  p.flag("overwrite", "replace an existing ACI file", &overwrite);
  p.positionals(2, 2);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  if (!to.empty() && to != "oci" && to != "aci") throw UsageError("--to: want aci or oci");
  std::string dest = pos[1];
  if (to == "oci" && !dest.starts_with("oci:")) dest = "oci:" + dest;
  image::ExportOptions o{convert::parseLocation(dest), overwrite};
  bool destIsOci = std::holds_alternative<convert::OciLayoutRef>(o.destination);
  if (!to.empty() && (to == "oci") != destIsOci) {
    throw UsageError("--to=" + to + " but DEST " + quote(pos[1]) + " is " +
                     (destIsOci ? "an OCI layout (oci:DIR[:REF])" : "an ACI file"));
  }
  if (!storeExists(ctx.global)) throwNoSuch(ctx.global, "image", pos[0]);
  store::Store store = store::Store::open(ctx.global.dir);
  auto r = std::optional<store::ImageRecord>(findStoredImage(store, pos[0]));
  image::ExportResult res = image::exportImage(store, *r, o);
  if (ctx.global.json()) {
    json::Json j = {{"image", r->id},
                    {"destination", res.destination},
                    {"id", res.id},
                    {"losses", res.report.toJson()}};
    ctx.out << json::print(j, true) << "\n";
  } else {
    ctx.err << res.report.toText();
    ctx.out << res.destination << " " << res.id << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
