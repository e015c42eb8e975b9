// Reified pod app → OCI runtime config.json (stage1/ABI.md §3).
//
// Pure: no I/O. stage0 reifies each app of a pod (the image's app section merged with the
// command line, every mount point satisfied by a volume) and resolves where each volume lives on
// the host; appToRuntime() turns that into the config.json that ferry-stage2 applies. The appc
// executor rules decide the environment (PATH default, AC_APP_NAME, AC_METADATA_URL,
// container=ferry, then the image's, then the pod's), the default capabilities (the appc set of
// 14), the default seccomp filter (a remove set in the spirit of Docker's and rkt's defaults),
// the mounts of the appc Linux OS spec, the masked and read-only /proc and /sys paths, and the
// rules of privileges.hpp (namespaced sysctls only, no_new_privs for non-root apps). What an
// isolator asks that config.json cannot carry, or that ferry does not apply, is in the report:
// nothing is dropped silently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/appc/pod_manifest.hpp"
#include "formats/oci/runtime_spec.hpp"
#include "formats/translate/privileges.hpp"
#include "formats/translate/report.hpp"
#include "stage1/common/keys.hpp"

namespace ferry::translate {

struct AppRuntimeInput {
  // The reified app: `app.app` holds the merged app section (required), `app.mounts` one mount
  // for every mount point.
  appc::RuntimeApp app;
  // The pod's volumes (an app mount may also carry its own appVolume).
  std::vector<appc::Volume> volumes{};
  // Volume name → absolute host path to bind (host volumes: their source; empty volumes: the
  // directory stage0 made in the pod).
  std::map<std::string, std::string> volumeSources{};
  std::optional<std::string> metadataUrl{};  // AC_METADATA_URL when registered
  std::vector<std::pair<std::string, std::string>> podEnvironment{};  // --set-env, wins last
  // --inherit-env: ferry's own environment, under everything else (PATH included).
  std::vector<std::pair<std::string, std::string>> inheritedEnvironment{};
  std::optional<std::string> hostsFile{};   // absolute host path bound on /etc/hosts
  std::optional<std::string> resolvConf{};  // absolute host path bound on /etc/resolv.conf
  bool interactive = false;
  bool hostNetwork = false;                      // --net=host: no network namespace of its own
  bool hostIpc = false;                          // --ipc=parent: no IPC namespace of its own
  NoNewPrivs noNewPrivs = NoNewPrivs::kNonRoot;  // privileges.hpp
  InsecureRun insecure{};                        // --insecure-options, run side
  // With insecure.capabilities: the capabilities the app gets (the host's bounding set, which
  // stage0 reads), whatever its isolators say.
  std::vector<std::string> allCapabilities{};
  std::vector<std::string> seccompArchitectures = defaultSeccompArchitectures();

  // SCMP_ARCH_… names for the architecture ferry was built for (and its compat modes).
  static std::vector<std::string> defaultSeccompArchitectures();
};

// Throws Error{kInvalid} when the app cannot run at all (no exec, a mount without a volume).
oci::RuntimeSpec appToRuntime(const AppRuntimeInput& input, Report& report);

// The resource isolators of a pod or an app (memory, cpu, cpu-shares) as OCI linux.resources;
// nullopt when none applies. Other isolators are not looked at here.
std::optional<oci::LinuxResources> resourcesFromIsolators(const appc::Isolators& isolators,
                                                          std::string_view path, Report& report);

// The capabilities appc gives an app by default (ace.md, "Linux Isolators"): 14 names.
const std::vector<std::string>& appcDefaultCapabilities();
// The syscalls ferry's default seccomp filter refuses (EPERM) unless capabilities allow them.
std::vector<std::string> defaultSeccompRemoveSet(const std::vector<std::string>& capabilities);
// The default filter's rules on arguments (clone(2) with namespace flags, clone3(2)) unless
// capabilities allow them; empty with CAP_SYS_ADMIN.
std::vector<oci::SeccompSyscall> defaultSeccompArgumentRules(
    const std::vector<std::string>& capabilities);
// The default filter's argument rule: ioctl TIOCSTI and TIOCLINUX refused (EPERM).
oci::SeccompSyscall defaultSeccompIoctlRule();
// "EPERM" → 1, …; nullopt for a name ferry does not know.
std::optional<uint32_t> errnoNumber(std::string_view name);

// Annotation keys of config.json that stage2 reads (ABI §3).
// config.json annotations under this prefix are ferry's (runtime_keys): an app's
// userAnnotations may not use it.
inline constexpr std::string_view kReservedAnnotationPrefix = keys::kReserved;

namespace runtime_keys {
inline constexpr std::string_view kAppName = keys::kAppName;
inline constexpr std::string_view kUser = keys::kUser;
inline constexpr std::string_view kGroup = keys::kGroup;
inline constexpr std::string_view kPreStart = keys::kPreStart;
inline constexpr std::string_view kPostStop = keys::kPostStop;
// The signal a stop sends the app ("SIGQUIT"), from the app annotation of the same name in the
// pod manifest (the image's OCI StopSignal, or --stop-signal). Default SIGTERM.
inline constexpr std::string_view kStopSignal = keys::kStopSignal;
// A JSON array of "NAME=VALUE" the app's environment cannot hold (appc refuses the name) but
// its OCI image sets: set after the app's environment, before the pod's.
inline constexpr std::string_view kExtraEnvironment = keys::kEnvironment;
}  // namespace runtime_keys

}  // namespace ferry::translate
