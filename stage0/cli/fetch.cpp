#include <iostream>

#include "common/json.hpp"
#include "stage0/cli/command.hpp"
#include "stage0/fetch/fetch.hpp"

namespace ferry::cli {

fetch::FetchOptions fetchOptions(const GlobalOptions& g, std::string_view pullPolicy) {
  fetch::FetchOptions o;
  o.policy = fetch::parsePullPolicy(pullPolicy);
  o.insecureImage = insecure(g, "image");
  o.insecureHttp = insecure(g, "http");
  o.insecureTls = insecure(g, "tls");
  o.insecurePubkey = insecure(g, "pubkey");
  o.dataDir = g.dir;
  for (const auto& [host, auth] : g.config().auth) o.hostAuthorization[host] = auth.authorization();
  for (const auto& [reg, c] : g.config().dockerAuth) {
    o.registryCredentials.add(reg, {c.user, c.password});
  }
  return o;
}

int fetchCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p("ferry fetch [flags] IMAGE...", "Fetch images into the store and print their IDs.",
                 "IMAGE is an appc name with labels (example.com/app:1.0,os=linux; os and\n"
                 "arch default to this host's), found by appc meta discovery; an ACI URL\n"
                 "(https://.../x.aci, signature x.aci.asc; plain http only with\n"
                 "--insecure-options=http); a local ACI file (signature IMAGE.asc); a\n"
                 "docker:// reference; an OCI layout (oci:DIR[:REF], or oci:FILE.tar[:REF]\n"
                 "for one packed in a tar); or an image ID already in the store. ACI\n"
                 "signatures are verified against 'ferry trust' keys unless\n"
                 "--insecure-options=image; appc dependencies are fetched too.\n"
                 "--insecure-options=tls skips certificate checks. A download that receives\n"
                 "no data for FERRY_HTTP_STALL_TIMEOUT seconds (default 30) fails as stalled;\n"
                 "SSL_CERT_FILE names a CA bundle to trust instead of the system's.\n"
                 "Pull policies: never (store only), new (fetch when not in the store),\n"
                 "update (ask the server again; ETag and Cache-Control max-age honoured).\n"
                 "A docker:// or oci: image's root filesystem is rendered into the tree store\n"
                 "as its layers are fetched (so the first run does not render it); --no-render\n"
                 "(not in rkt) only checks the layers, for images that are only exported or\n"
                 "converted.");
  addGlobalOptions(p, ctx.global);
  std::string policy = "new";
  p.value("pull-policy", "never|new|update", "when to fetch an image the store has (new)", &policy);
  std::string signature;
  p.value("signature", "FILE",
          "the detached signature of the (one) ACI file, URL or appc name, instead of the\n"
          "one beside the ACI (IMAGE.asc, or what discovery names)",
          &signature);
  bool noRender = false;
  p.flag("no-render",
         "do not render docker:// and oci: images into the tree store while fetching them\n"
         "(not in rkt)",
         &noRender);
  p.positionals(1, -1);
  std::vector<std::string> images;
  if (!p.parseOrHelp(args, ctx.out, &images)) return kExitOk;
  fetch::FetchOptions o = fetchOptions(ctx.global, policy);
  o.render = !noRender;
  if (!signature.empty()) {
    if (images.size() != 1)
      throw UsageError("--signature: give one IMAGE, not " + std::to_string(images.size()));
    o.signature = signature;
  }
  store::Store store = store::Store::open(ctx.global.dir);
  json::Json fetched = json::Json::array();
  for (const auto& image : images) {
    std::string id = fetch::fetchImage(store, fetch::parseImageArg(image), o);
    store.touch(id);  // image list's LAST USED
    if (ctx.global.json()) {
      fetched.push_back({{"image", image}, {"id", id}});
    } else {
      ctx.out << id << "\n";
    }
  }
  if (ctx.global.json()) ctx.out << json::print(fetched, true) << "\n";
  return kExitOk;
}

}  // namespace ferry::cli
