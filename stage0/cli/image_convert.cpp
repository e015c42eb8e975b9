#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/convert/convert.hpp"

namespace ferry::cli {

namespace {

archive::Compression parseCompression(std::string_view v) {
  if (v == "gzip") return archive::Compression::kGzip;
  if (v == "zstd") return archive::Compression::kZstd;
  if (v == "none") return archive::Compression::kNone;
  throw UsageError("--compression: want gzip, zstd or none, not " + quote(v));
}

}  // namespace

int imageConvertCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(
      "ferry image convert [flags] SRC DEST",
      "Convert an image between appc (ACI) and OCI, reporting every field the translation drops "
      "or approximates.",
      "SRC and DEST are an ACI file (x.aci) or an OCI image layout (oci:DIR[:REF]).\n"
      "The direction follows from them; --to states it explicitly and is checked.\n"
      "Losses are printed as warnings on stderr (as JSON on stdout with --format=json).");
  addGlobalOptions(p, ctx.global);
  std::string to, compression = "gzip", name, level;
  std::vector<std::filesystem::path> deps;
  p.value("to", "oci|aci", "the destination format (checked against DEST)", &to);
  p.value("compression", "gzip|zstd|none", "compression of the layer or ACI written (gzip)",
          &compression);
  p.value("level", "N", "compression level (gzip 1-9, zstd 1-19; default: the compressor's)",
          &level);
  p.value("name", "NAME", "the ACI's name, for OCI → ACI (default: kept or from the layout)",
          &name);
  p.value("dependency-dir", "DIR", "a directory of ACIs holding appc dependencies (repeatable)",
          [&deps](std::string_view v) { deps.emplace_back(v); });
  p.positionals(2, 2);
  std::vector<std::string> pos;
  if (!p.parseOrHelp(args, ctx.out, &pos)) return kExitOk;
  convert::Options o{convert::parseLocation(pos[0]), convert::parseLocation(pos[1])};
  o.compression = parseCompression(compression);
  if (!level.empty()) {
    try {
      o.level = std::stoi(level);
    } catch (const std::exception&) {
      throw UsageError("--level: not a number: " + quote(level));
    }
  }
  if (!name.empty()) o.name = name;
  o.dependencyDirs = std::move(deps);
  bool destIsOci = std::holds_alternative<convert::OciLayoutRef>(o.destination);
  if (!to.empty() && to != "oci" && to != "aci") throw UsageError("--to: want oci or aci");
  if (!to.empty() && (to == "oci") != destIsOci) {
    throw UsageError("--to=" + to + " but DEST " + quote(pos[1]) + " is " +
                     (destIsOci ? "an OCI layout" : "an ACI file"));
  }

  convert::Result r = convert::convertImage(o);
  if (ctx.global.json()) {
    json::Json j = {{"source", pos[0]},
                    {"destination", r.destination},
                    {"id", r.id},
                    {"losses", r.report.toJson()}};
    ctx.out << json::print(j, true) << "\n";
  } else {
    ctx.err << r.report.toText();
    ctx.out << r.destination << " " << r.id << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
