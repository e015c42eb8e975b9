#include <iostream>

#include "stage0/cli/command.hpp"
#include "stage0/mds/service.hpp"

namespace ferry::cli {

int metadataServiceCommand(Context& ctx, const std::vector<std::string>& args) {
  OptionParser p(
      "ferry metadata-service [flags]", "Run the appc metadata service for registered pods.",
      "Pods started with 'ferry run --mds-register' register over the unix socket and reach the\n"
      "service on their own loopback at $AC_METADATA_URL. --listen-tcp adds a listener in the\n"
      "host's network namespace that serves only POST /acMetadata/v1/pod/hmac/verify.\n"
      "Runs until SIGINT or SIGTERM.");
  addGlobalOptions(p, ctx.global);
  mds::ServiceOptions o;
  p.value("listen-unix", "PATH",
          std::string("registration socket (default ") + mds::kDefaultSocket + ")",
          [&o](std::string_view v) {
            if (v.empty()) throw UsageError("--listen-unix: want a path");
            o.unixSocket = std::string(v);
          });
  p.value("listen-tcp", "ADDR:PORT", "also serve hmac/verify on this host address",
          [&o](std::string_view v) { o.tcpListen = std::string(v); });
  p.positionals(0, 0);
  if (!p.parseOrHelp(args, ctx.out)) return kExitOk;
  o.debug = ctx.global.debug;
  mds::Service service(o, ctx.err);
  service.run(true);
  return kExitOk;
}

}  // namespace ferry::cli
