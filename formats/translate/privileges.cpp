#include "formats/translate/privileges.hpp"

#include <algorithm>
#include <variant>

#include "common/error.hpp"
#include "formats/oci/sysctl.hpp"
#include "formats/translate/app_runtime.hpp"

namespace ferry::translate {

namespace {

std::string appText(std::string_view app) { return "app " + quote(app); }

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// KEY, or a pattern ending in '*' that matches every key it is a prefix of.
bool sysctlGranted(const std::vector<std::string>& grants, const std::string& key) {
  return std::any_of(grants.begin(), grants.end(), [&](const std::string& g) {
    if (!g.empty() && g.back() == '*') return key.starts_with(g.substr(0, g.size() - 1));
    return g == key;
  });
}

}  // namespace

std::optional<NoNewPrivs> parseNoNewPrivs(std::string_view text) {
  if (text == "non-root") return NoNewPrivs::kNonRoot;
  if (text == "all") return NoNewPrivs::kAll;
  if (text == "isolator") return NoNewPrivs::kIsolator;
  return std::nullopt;
}

bool isRootUser(std::string_view user) { return user == "0" || user == "root"; }

void checkImageIsolators(const appc::Isolators& image, const ImageGrants& grants,
                         std::string_view app) {
  for (const auto& iso : image) {
    if (const auto* r = std::get_if<appc::LinuxCapabilitiesRetainSet>(&iso.value)) {
      if (grants.allCapabilities) continue;
      const auto& defaults = appcDefaultCapabilities();
      std::vector<std::string> extra;
      for (const auto& c : r->set) {
        if (std::find(defaults.begin(), defaults.end(), c) == defaults.end()) extra.push_back(c);
      }
      if (!extra.empty()) {
        throw Error(Errc::kSecurity,
                    appText(app) + ": the image asks for " + joined(extra) +
                        " (os/linux/capabilities-retain-set), beyond appc's default "
                        "capabilities; only the operator grants those: --caps-retain=CAP,... "
                        "(the app's whole set) or --insecure-options=capabilities");
      }
    } else if (std::holds_alternative<appc::LinuxSeccompRetainSet>(iso.value)) {
      if (grants.anySeccomp) continue;
      throw Error(Errc::kSecurity,
                  appText(app) +
                      ": the image brings its own seccomp filter (os/linux/seccomp-retain-set), "
                      "which would replace ferry's default one; only the operator chooses a "
                      "filter: --seccomp mode=retain,... or --insecure-options=seccomp");
    } else if (const auto* s = std::get_if<appc::UnixSysctl>(&iso.value)) {
      for (const auto& [key, value] : s->entries) {
        if (sysctlGranted(grants.sysctls, key)) continue;
        throw Error(Errc::kSecurity, appText(app) + ": the image sets sysctl " + key + "=" + value +
                                         " (os/unix/sysctl), which only the operator allows: "
                                         "--sysctl " +
                                         key + " (or --sysctl " + key + "=VALUE)");
      }
    }
  }
}

void checkSysctls(const std::map<std::string, std::string>& sysctl, bool hostNetwork,
                  std::string_view app, bool hostIpc) {
  for (const auto& [key, value] : sysctl) {
    auto ns = oci::sysctlNamespace(key);
    if (!ns) {
      throw Error(Errc::kSecurity,
                  appText(app) + ": cannot set sysctl " + key +
                      ": it is not namespaced, so it would change the host (a pod may set "
                      "IPC keys, fs.mqueue.*, kernel.hostname, kernel.domainname and net.*)");
    }
    if (*ns == "network" && hostNetwork) {
      throw Error(Errc::kSecurity, appText(app) + ": cannot set sysctl " + key +
                                       " with --net=host: the pod shares the host's network "
                                       "namespace");
    }
    if (*ns == "ipc" && hostIpc) {
      throw Error(Errc::kSecurity, appText(app) + ": cannot set sysctl " + key +
                                       " with --ipc=parent: the pod shares the host's IPC "
                                       "namespace");
    }
  }
}

const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/acpi",        "/proc/asound",
      "/proc/config.gz",   "/proc/interrupts",
      "/proc/kcore",       "/proc/keys",
      "/proc/key-users",   "/proc/latency_stats",
      "/proc/sched_debug", "/proc/scsi",
      "/proc/timer_list",  "/proc/timer_stats",
      "/sys/dev/block",    "/sys/devices/virtual/powercap",
      "/sys/firmware",     "/sys/fs/selinux"};
  return kPaths;
}

const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

}  // namespace ferry::translate
