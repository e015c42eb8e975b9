// What a pod may get beyond appc's defaults, and who may grant it (DESIGN §5b).
//
// An image may ask; only the operator grants. Everything beyond the defaults — a capability
// outside appc's default set, a sysctl, fewer protections (--insecure-options) — comes from the
// command line or from a pod manifest the operator supplied with an app section of its own.
// stage0 calls checkImageIsolators() on what is left of an image's isolators once the
// operator's flags have replaced theirs, before a pod exists: a request nobody granted is
// refused in one line naming it and the flag that grants it. appToRuntime() then applies the
// rules that hold whoever asked: only namespaced sysctls (checkSysctls), no_new_privs for
// non-root apps unless the operator switches it off (NoNewPrivs), masked and read-only /proc
// and /sys paths unless --insecure-options=paths.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/appc/isolator.hpp"

namespace ferry::translate {

// --insecure-options, run side: protections the operator turned off for every app of a pod.
struct InsecureRun {
  bool capabilities = false;  // every capability of the host's bounding set, whatever asked
  bool paths = false;         // no masked and no read-only paths
  bool seccomp = false;       // no seccomp filter at all
  bool any() const { return capabilities || paths || seccomp; }
};

// When process.noNewPrivileges is set beside what the app's no-new-privileges isolator says.
//   kNonRoot   every app whose user is not root (rkt's forceNoNewPrivileges); the default
//   kAll       every app
//   kIsolator  only an app whose isolator (or --no-new-privileges) asks: appc's plain rule
enum class NoNewPrivs { kNonRoot, kAll, kIsolator };
std::optional<NoNewPrivs> parseNoNewPrivs(std::string_view text);  // non-root | all | isolator

// Whether app.user names root for certain: "0" or "root". Any other name is resolved in the
// image's own /etc/passwd when the app starts, and counts as not root here: no_new_privs on an
// app that turns out to be root takes nothing from it (root gains nothing through setuid).
bool isRootUser(std::string_view user);

// What the operator lets an image's own isolators ask for beyond appc's defaults.
struct ImageGrants {
  // --sysctl KEY or KEY=VALUE of the app: keys whose value the image may set ("net.ipv4.*":
  // every key below net.ipv4).
  std::vector<std::string> sysctls;
  bool allCapabilities = false;  // --insecure-options=capabilities
  bool anySeccomp = false;       // --insecure-options=seccomp: an image may bring its own filter
};

// Throws Error{kSecurity} for the first thing `image` (an image's isolators, after the
// operator's replaced theirs) asks that nobody granted: a capability retain set beyond appc's
// default set, a sysctl no --sysctl allows, a seccomp retain set (it replaces ferry's default
// filter: `@appc.io/all`, or any call the default filter refuses, would be let through). A
// capability retain set within the defaults and remove sets are honoured: they only take away
// (a seccomp remove set adds to the default filter's refusals, see appToRuntime).
void checkImageIsolators(const appc::Isolators& image, const ImageGrants& grants,
                         std::string_view app);

// Throws Error{kSecurity} for a sysctl the app's namespaces do not hold (formats/oci/sysctl.hpp):
// one the kernel keeps for the whole host, net.* with the host's network (--net=host), or an
// IPC key with the host's IPC namespace (--ipc=parent).
void checkSysctls(const std::map<std::string, std::string>& sysctl, bool hostNetwork,
                  std::string_view app, bool hostIpc = false);

// /proc and /sys paths an app cannot read (maskedPaths) or write (readonlyPaths): runc's,
// Docker's and Podman's lists together, plus /proc/config.gz. A path the kernel lacks is
// skipped by stage2.
const std::vector<std::string>& defaultMaskedPaths();
const std::vector<std::string>& defaultReadonlyPaths();

}  // namespace ferry::translate
