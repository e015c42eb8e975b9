// The fly stage1's run entrypoint: the ns stage1's run with the host's PID, IPC, UTS and network
// namespaces (RunFlavor::hostNamespaces), after refusing what would reach the host through them.
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "formats/oci/sysctl.hpp"
#include "stage1/common/abi.hpp"
#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/ns/entrypoints.hpp"

namespace ferry::stage1 {

namespace fs = std::filesystem;

namespace {

// A pod of fly shares the host's IPC, UTS and network namespaces, so every namespaced sysctl an
// app's config.json asks for (an IPC key, kernel.hostname, net.*) would be written into the
// host's: refused before anything exists, whatever config.json's own namespaces list says
// (ferry-stage2 trusts that list).
void refuseSysctls(const fs::path& podDir, const RuntimeOptions& rt) {
  for (const RuntimeApp& app : rt.apps) {
    fs::path file = podDir / podfile::kApps / app.name / podfile::kAppConfig;
    json::Json doc = json::parse(readFile(file, 16 << 20), quote(file.string()));
    const json::Json* sysctl = nullptr;
    if (doc.is_object() && doc.contains("linux") && doc["linux"].is_object() &&
        doc["linux"].contains("sysctl")) {
      sysctl = &doc["linux"]["sysctl"];
    }
    if (sysctl == nullptr || !sysctl->is_object() || sysctl->empty()) continue;
    std::string key = sysctl->begin().key();
    auto ns = oci::sysctlNamespace(key);
    throw Error(Errc::kUnsupported,
                "not supported: stage1 \"fly\" shares the host's IPC, UTS and network "
                "namespaces: app " +
                    quote(app.name) + " cannot set sysctl " + key +
                    (ns ? " (its " + std::string(*ns) + " namespace is the host's)" : ""));
  }
}

}  // namespace

int flyRunEntrypoint(const Args& args) {
  fs::path podDir = currentPodDir();
  refuseSysctls(podDir, RuntimeOptions::read(podDir));
  return runPod(args, RunFlavor{true});
}

}  // namespace ferry::stage1
