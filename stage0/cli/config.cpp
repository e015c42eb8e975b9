// `ferry config`: the merged configuration (rkt config), as JSON.
#include <filesystem>
#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/net/networks.hpp"
#include "stage0/pod/stage1.hpp"

namespace ferry::cli {

int configCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry config [--show-secrets]",
                 "Print the configuration merged from the system, local and user directories.",
                 "The output is rkt config's: {\"stage0\": [...]}, one entry per auth domain and\n"
                 "per registry, then paths (with the defaults filled in) and stage1, each a\n"
                 "valid configuration file's content. Passwords and tokens show as \"***\"\n"
                 "unless --show-secrets (the output tends to end up in logs and bug reports).");
  addGlobalOptions(p, ctx.global);
  bool showSecrets = false;
  p.flag("show-secrets", "print passwords and tokens as they are (as rkt config does)",
         &showSecrets);
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  const config::Config& c = ctx.global.config();
  json::Json j = config::toJson(c, showSecrets);
  for (auto& e : j["stage0"]) {
    if (e["ferryKind"] != "paths") continue;
    if (!e.contains("data")) e["data"] = GlobalOptions().dir;
    // Where --net finds networks (an earlier directory wins a name).
    e["net.d"] = json::Json::array();
    for (const auto& d : net::configDirs(ctx.global.dir, c.netDirs))
      e["net.d"].push_back(d.string());
    if (!e.contains("stage1-images")) {
      std::vector<std::filesystem::path> dirs = pod::Stage1::imageDirs();
      std::error_code ec;
      for (const auto& d : dirs) {
        if (std::filesystem::is_directory(d, ec)) {
          e["stage1-images"] = d.string();
          break;
        }
      }
    }
  }
  ctx.out << json::print(j, true) << "\n";
  return kExitOk;
}

}  // namespace ferry::cli
