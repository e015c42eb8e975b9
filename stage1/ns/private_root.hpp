// The pod init's own root (stage1/ABI.md §5): the ns stage1 never starts ferry-init in the host's
// root. planPrivateRoot() lists, from the pod directory, what the init and ferry-stage2 reach by
// absolute host path; enterPrivateRoot(), in the pod's first process (its own mount namespace,
// mounts private), mounts a tmpfs that holds exactly those at the same absolute paths — so
// runtime.json, cgroups.json and config.json keep their host paths — pivots into it and changes
// to the pod directory:
//   - the pod directory, recursively (the apps' rootfs mounts come with it);
//   - each bind source of the apps' config.json mounts outside it (volumes, the host's
//     /etc/hosts or /etc/resolv.conf), recursively;
//   - ferry-init and ferry-stage2, each bound read-only (nosuid, nodev): a pod holding
//     /proc/<pid>/exe of either can never reopen it for writing (CVE-2019-5736's class);
//   - each cgroup hierarchy of cgroups.json read-only, and writable on top of it the pod cgroup's
//     directories in the hierarchies where the app cgroups are (the init moves each child into
//     its app cgroup and reads its OOM count there);
//   - /dev with the device nodes stage2 may have to bind when mknod is refused (the appc
//     defaults and every app's linux.devices) and the terminal on stdin (interactive);
//   - a fresh /proc of the pod's PID namespace.
// In a pod with a user namespace (--private-users) the pod's first process builds it as the
// namespace's root, which cannot walk host paths that only host root may: the pod directory is
// taken from the working directory, and the parent hands over (`handed`) detached mounts of the
// bind sources (idmapped) and of the binaries (read-only); a fresh sysfs of the pod's network
// namespace is mounted read-only at /sysfs, because the kernel lets a user namespace mount a
// sysfs (stage2 does, for each app) only where one is fully visible already (with --net=host,
// the host's /sys bound read-only: stage2 binds it when the kernel refuses a sysfs).
// The tmpfs is read-only once built. What a pod sees through /proc/1/root (with CAP_SYS_PTRACE)
// or /proc/1/cwd is that tree, never the host's root.
#pragma once

#include <filesystem>
#include <map>
#include <vector>

#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

struct PrivateRootPlan {
  std::filesystem::path podDir;
  std::vector<std::filesystem::path> binaries;      // bound read-only
  std::vector<std::filesystem::path> sources;       // bound recursively, as they are
  std::vector<std::filesystem::path> cgroupMounts;  // hierarchies, bound read-only
  std::vector<std::filesystem::path> cgroups;       // pod cgroup directories, bound
  std::vector<std::filesystem::path> devices;       // /dev/… nodes, recreated (or bound)
  bool terminal = false;                            // bind the terminal on stdin
  // Detached mounts made by the parent, by host path (sources and binaries): used instead of
  // cloning the path; they come with their attributes set.
  std::map<std::filesystem::path, int> handed;
  // A read-only sysfs at /sysfs: a fresh one of the pod's network namespace, or (hostSysfs,
  // --net=host, whose network namespace is not the user namespace's to mount a sysfs of) the
  // host's /sys bound recursively, which stage2 then binds for each app.
  bool sysfs = false;
  bool hostSysfs = false;
  // The pod's own journal files (journalFrom, a host directory), bound read-only at journalAt
  // (/var/log/journal/<pod machine ID>), where `journalctl -M` looks: ABI §5 "systemd".
  std::filesystem::path journalAt;
  std::filesystem::path journalFrom;
};

// Where enterPrivateRoot mounts the sysfs of plan.sysfs.
inline constexpr const char* kPrivateRootSysfs = "/sysfs";

// Reads every app's config.json (mounts, linux.devices). binaries and cgroups are the caller's.
PrivateRootPlan planPrivateRoot(const std::filesystem::path& podDir,
                                const std::vector<RuntimeApp>& apps);

// Builds the root and pivots into it; the working directory is then plan.podDir. Throws
// Error/std::system_error naming the path at fault. Call it in a mount namespace of its own,
// after `mount --make-rprivate /`.
void enterPrivateRoot(const PrivateRootPlan& plan);

}  // namespace ferry::stage1
