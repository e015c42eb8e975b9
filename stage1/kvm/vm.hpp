// The kvm stage1's virtual machine (stage1/ABI.md §4 "kvm"): where its guest, QEMU and
// virtiofsd are, which accelerator a pod gets, how big its VM is, and QEMU's command line.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stage1/common/runtime.hpp"

namespace ferry::stage1::kvm {

// Inside the pod directory: the run entrypoint's own directory (0700), hidden from the guest.
inline constexpr const char* kStateDir = "kvm";
// In kStateDir (relative names: QEMU and virtiofsd run there, and a unix socket path is short).
inline constexpr const char* kChannelSocket = "channel.sock";
inline constexpr const char* kFsSocket = "fs.sock";
inline constexpr const char* kEnterSocket = "enter.sock";  // enter's sessions, relayed by run
// In the flavor's bin/: the ns stage1's enter entrypoint, which the guest runs for enter.
inline constexpr const char* kGuestEnter = "guest-enter";
inline constexpr const char* kConsole = "console";
inline constexpr const char* kRunPid = "run.pid";
inline constexpr const char* kShareRoot = "root";
inline constexpr const char* kShareTag = "ferry";
// QEMU's own uid and gid on the host (with virtiofs): this base + its PID, unique while it runs,
// above the ranges ferry picks for --private-users (common/idmap.hpp kAutoLimit).
inline constexpr uint32_t kQemuIdBase = 0x70000000;
// At the top of the share (with net "netns"): the pod's networks for the guest (net.hpp).
inline constexpr const char* kNetConfig = "ferry-net.conf";

// The guest a stage1 directory ships (guest/vmlinux, guest/initrd) beside bin/; an
// Error{kUnsupported} naming what is missing (guest/MISSING says why the build made none).
struct Guest {
  std::filesystem::path kernel, initrd;
  static Guest find(const std::filesystem::path& stage1Dir);
};

std::filesystem::path findQemu();
// Debian's virtiofsd, or nullopt (the share is then 9p).
std::optional<std::filesystem::path> findVirtiofsd();

// `asked` (runtime.json stage1Options kvm-accel: --kvm-accel), else FERRY_KVM_ACCEL: "kvm",
// "tcg" or "auto" (also when neither is set). auto takes KVM only where a tiny
// guest boots under it within FERRY_KVM_PROBE_TIMEOUT seconds (default 30), which is probed
// once per boot of the host and kernel (the answer kept in /run/ferry/kvm-accel-<key>).
// Returns "kvm" or "tcg"; an Error when KVM was asked for and /dev/kvm cannot be opened.
std::string chooseAccel(const Guest& guest, const std::optional<std::string>& asked, bool debug);

// The VM's size: memory in MiB (the pod's memory limit, else the sum of its apps' when every
// app has one, else FERRY_KVM_MEMORY (MiB, default 512); plus kMemoryOverheadMiB for the guest's
// kernel) and vCPUs (the pod's CPU quota rounded up, else the largest app's, else 1; at most
// the host's CPUs).
inline constexpr int64_t kMemoryOverheadMiB = 160;
struct VmSize {
  int64_t memoryMiB = 0;
  int cpus = 1;
};
VmSize vmSize(const std::filesystem::path& podDir, const RuntimeOptions& rt);

struct QemuPlan {
  std::string accel;  // kvm | tcg
  VmSize size;
  Guest guest;
  std::string name;                 // -name
  std::string append;               // the kernel command line
  bool virtiofs = true;             // else 9p on shareRoot
  std::filesystem::path shareRoot;  // the shared tree (9p: QEMU shares it itself)
  bool share = true;                // false: no share (the probe)
  // Descriptors QEMU gets instead of paths (-1: the path), so that a QEMU without privileges
  // opens nothing itself: the kernel and initramfs (/proc/self/fd/N), the console (an fdset),
  // the channel's and virtiofsd's connected sockets.
  int kernelFd = -1, initrdFd = -1, consoleFd = -1, channelFd = -1, fsFd = -1;
};
// QEMU's argv, run in kStateDir.
std::vector<std::string> qemuArgv(const std::filesystem::path& qemu, const QemuPlan& plan);

// Hex of a string, for the kernel command line (no spaces, no quoting).
std::string hex(const std::string& s);

// QEMU's process before its exec, when QEMU serves no files (virtiofs): without privileges
// (vm.cpp); `parent` is the run process, whose end kills it.
void dropQemuPrivileges(const std::string& accel, pid_t parent);

// QEMU's process before its exec when it serves the share itself (9p): no supplementary group,
// then a user namespace of its own (it says 'u' on `unshared` and waits for 'm' on `mapped`,
// which the parent says once mapIdentity(its pid) is done), a bounding set of only what 9p's
// passthrough uses (kQemu9pCaps), no_new_privs; `parent` as for dropQemuPrivileges.
void enterQemuUserns(int unshared, int mapped, pid_t parent);
// The user namespace of process `pid` mapping the host's ids one to one (its files served as
// their owners; its capabilities count only in that namespace).
void mapIdentity(pid_t pid);

}  // namespace ferry::stage1::kvm
