// The pod ABI's names and conventions (stage1/ABI.md), one definition for stage0, every stage1
// flavor, the pod init and stage2: the files of a pod directory, the pod cgroup's name, the
// interface versions, the entrypoints' exit statuses and the lock/pid conventions.
//
// Lock: `lock` is an empty file; stage0 holds flock(LOCK_EX) on it and passes the descriptor to
// the run entrypoint as `--lock-fd N`; the stage1 process that lives as long as the pod keeps it
// open (FD_CLOEXEC off, so the pod init inherits it too), and the init marks it close-on-exec
// for the apps. A pod whose lock is held is running.
// pid: the decimal PID (host PID namespace) of the pod's PID 1 and "\n", written atomically
// once that process exists. exit: the pod's exit code and "\n", written by stage1 last.
#pragma once

#include <string>
#include <string_view>

namespace ferry::stage1 {

// stage1.json's interfaceVersion and runtime.json's ferryRuntimeVersion this build speaks.
inline constexpr int kInterfaceVersion = 1;
inline constexpr int kRuntimeVersion = 1;

// Files and directories of a pod directory (ABI §1), relative to it.
namespace podfile {
inline constexpr std::string_view kManifest = "pod";
inline constexpr std::string_view kRuntime = "runtime.json";
inline constexpr std::string_view kLock = "lock";
inline constexpr std::string_view kStage1 = "stage1";
inline constexpr std::string_view kStage1Ref = "stage1-ref";
inline constexpr std::string_view kApps = "apps";
inline constexpr std::string_view kVolumes = "volumes";
inline constexpr std::string_view kPid = "pid";
inline constexpr std::string_view kCgroups = "cgroups.json";
inline constexpr std::string_view kReady = "ready";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kLogs = "logs";
inline constexpr std::string_view kExit = "exit";
// Inside apps/<app>/.
inline constexpr std::string_view kAppConfig = "config.json";
inline constexpr std::string_view kAppManifest = "manifest";
inline constexpr std::string_view kAppRootfs = "rootfs";
}  // namespace podfile

// stage1.json, in a stage1's directory (ABI §4).
inline constexpr std::string_view kDescriptorFile = "stage1.json";

// Exit statuses of the entrypoints (ABI §4): run exits with the pod's code otherwise.
inline constexpr int kOwnFailure = 254;
inline constexpr int kUsageFailure = 2;

// The pod cgroup's name in every hierarchy (ABI §5 "Cgroups").
inline std::string podCgroupName(std::string_view uuid) { return "ferry-" + std::string(uuid); }

}  // namespace ferry::stage1
