#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/version.hpp"

namespace ferry::cli {

int versionCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry version", "Print the versions of ferry and of the specs it implements.");
  addGlobalOptions(p, ctx.global);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  const auto& v = versionInfo();
  if (ctx.global.json()) {
    ctx.out << v.toJson() << "\n";
    return kExitOk;
  }
  ctx.out << "ferry version " << v.ferry << "\n"
          << "appc spec version " << v.appcSpec << "\n"
          << "OCI image-spec version " << v.ociImageSpec << "\n"
          << "OCI runtime-spec version " << v.ociRuntimeSpec << "\n";
  return kExitOk;
}

}  // namespace ferry::cli
