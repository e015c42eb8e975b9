// The pod's /etc/resolv.conf and /etc/hosts (rkt's flags and precedence, see rkt's
// Documentation/networking/dns.md).
//
// resolv.conf: `--dns IP[,IP]…` with `--dns-search`, `--dns-opt`, `--dns-domain` → a file stage0
// writes into the pod and every app gets it (bind, read-only); any of the last three alone also
// generates one. `--dns host` binds the host's /etc/resolv.conf (read-only, live); `--dns none`
// or no flag at all: the image's own /etc/resolv.conf, untouched (ferry takes no DNS from CNI,
// so "none" and nothing are the same). `host` and `none` stand alone; with them the other three
// flags are a usage error.
//
// hosts: `--hosts-entry IP=HOST[,IP=HOST]…` → a file with the defaults (localhost, the pod's
// hostname) then the entries, one line per IP in order of first appearance; `--hosts-entry
// host` (alone) binds the host's /etc/hosts. No flag: an app whose image has /etc/hosts keeps
// it; an app whose image has none gets the defaults (rkt's fallback); an image whose /etc is a
// symlink is left alone.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ferry::pod {

struct DnsRequest {
  std::vector<std::string> servers{};  // "host", "none", or addresses (each may be a comma list)
  std::vector<std::string> search{};
  std::vector<std::string> options{};
  std::optional<std::string> domain{};
};

// What the apps see at one of the two paths.
struct EtcFile {
  enum class Kind { kImage, kHost, kGenerated } kind = Kind::kImage;
  std::string content;  // kGenerated only
};

// Throw Error{kUsage} for a bad or contradictory request.
EtcFile resolvConf(const DnsRequest& dns);
// kImage only when no entry is given (each app then keeps its image's file, or gets
// defaultHosts() if it has none).
EtcFile hostsFile(const std::vector<std::string>& entries, const std::string& hostname);
std::string defaultHosts(const std::string& hostname);

}  // namespace ferry::pod
