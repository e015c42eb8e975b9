#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/fetch/fetch.hpp"

namespace ferry::cli {

namespace {
bool hasOption(std::string_view list, std::string_view option) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (list.substr(start, comma - start) == option || list.substr(start, comma - start) == "all") {
      return true;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}
}  // namespace

fetch::FetchOptions fetchOptions(const GlobalOptions& g, std::string_view pullPolicy) {
  fetch::FetchOptions o;
  o.policy = fetch::parsePullPolicy(pullPolicy);
  o.insecureImage = hasOption(g.insecureOptions, "image");
  o.insecureHttp = hasOption(g.insecureOptions, "http");
  o.insecureTls = hasOption(g.insecureOptions, "tls");
  o.dataDir = g.dir;
  return o;
}

int fetchCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry fetch [flags] IMAGE...", "Fetch images into the store and print their IDs.",
                 "IMAGE is a local ACI file (its signature IMAGE.asc is verified against\n"
                 "'ferry trust' keys unless --insecure-options=image), an OCI layout\n"
                 "(oci:DIR[:REF], or oci:FILE.tar[:REF] for one packed in a tar) or an image ID\n"
                 "already in the store.");
  addGlobalOptions(p, ctx.global);
  std::string policy = "new";
  p.value("pull-policy", "never|new|update", "when to fetch an image the store has (new)", &policy);
  p.positionals(1, -1);
  auto images = p.parse(args);
  if (p.helpRequested()) {
    ctx.out << p.helpText();
    return kExitOk;
  }
  fetch::FetchOptions o = fetchOptions(ctx.global, policy);
  store::Store store = store::Store::open(ctx.global.dir);
  for (const auto& image : images) {
    ctx.out << fetch::fetchImage(store, fetch::parseImageArg(image), o) << "\n";
  }
  return kExitOk;
}

}  // namespace ferry::cli
