// Every `dev.ferry.*` key ferry defines, in one place: the annotations of the pod manifest and of
// each app's config.json that the pod ABI carries (stage1/ABI.md §3), and the keys with which an
// image translated between appc and OCI keeps what the other format has no field for.
// Users never set keys under kReserved: an app using one is refused.
#pragma once

#include <string_view>

namespace ferry::keys {

inline constexpr std::string_view kReserved = "dev.ferry.";

// --- the pod manifest's annotations (stage0 reads them when it prepares a pod)
inline constexpr std::string_view kStopTimeout = "dev.ferry.stop-timeout";
inline constexpr std::string_view kPidsLimit = "dev.ferry.pids-limit";  // also an app's

// --- an app's annotations in the pod manifest, carried into its config.json
inline constexpr std::string_view kUlimitPrefix = "dev.ferry.ulimit.";
inline constexpr std::string_view kStopSignal = "dev.ferry.stop-signal";
inline constexpr std::string_view kEnvironment = "dev.ferry.environment";

// --- config.json annotations (ABI §3): read by the pod init and ferry-stage2
inline constexpr std::string_view kAppName = "dev.ferry.app.name";
inline constexpr std::string_view kUser = "dev.ferry.user";
inline constexpr std::string_view kGroup = "dev.ferry.group";
inline constexpr std::string_view kEventPrefix = "dev.ferry.event.";
inline constexpr std::string_view kPreStart = "dev.ferry.event.pre-start";
inline constexpr std::string_view kPostStop = "dev.ferry.event.post-stop";
// systemd (ABI §5 "systemd"): "true" when the app speaks sd_notify (the pod init serves its
// notify socket, notify/<app>); the names of its socketActivated ports, comma-separated (the
// socket-activation descriptors it takes).
inline constexpr std::string_view kNotify = "dev.ferry.notify";
inline constexpr std::string_view kSocketActivated = "dev.ferry.socket-activated";

// --- appc's own annotations that ferry acts on (an image's manifest)
inline constexpr std::string_view kAppcSupportsNotify = "appc.io/executor/supports-systemd-notify";

// --- an ACI translated from OCI, or an OCI image translated from appc (formats/translate)
inline constexpr std::string_view kAppcPrefix = "dev.ferry.appc.";
inline constexpr std::string_view kAppcName = "dev.ferry.appc.name";
inline constexpr std::string_view kAppcLabels = "dev.ferry.appc.labels";
inline constexpr std::string_view kAppcUser = "dev.ferry.appc.user";
inline constexpr std::string_view kAppcGroup = "dev.ferry.appc.group";
inline constexpr std::string_view kAppcSupplementaryGids = "dev.ferry.appc.supplementaryGIDs";
inline constexpr std::string_view kAppcEventHandlers = "dev.ferry.appc.eventHandlers";
inline constexpr std::string_view kAppcIsolators = "dev.ferry.appc.isolators";
inline constexpr std::string_view kAppcMountPoints = "dev.ferry.appc.mountPoints";
inline constexpr std::string_view kAppcPorts = "dev.ferry.appc.ports";
inline constexpr std::string_view kAppcUserAnnotations = "dev.ferry.appc.userAnnotations";
inline constexpr std::string_view kAppcUserLabels = "dev.ferry.appc.userLabels";
inline constexpr std::string_view kOciPrefix = "dev.ferry.oci.";
inline constexpr std::string_view kOciCmd = "dev.ferry.oci.cmd";
inline constexpr std::string_view kOciUser = "dev.ferry.oci.user";
inline constexpr std::string_view kOciLabels = "dev.ferry.oci.labels";
inline constexpr std::string_view kOciEnv = "dev.ferry.oci.env";
inline constexpr std::string_view kOciConfig = "dev.ferry.oci.config";
inline constexpr std::string_view kOciImage = "dev.ferry.oci.image";

}  // namespace ferry::keys
