// The kvm stage1's share (stage1/ABI.md §4 "kvm"): the tree the guest mounts as its /root, built
// in the run process's child in a mount namespace of its own, and virtiofsd serving it (9p:
// QEMU serves it itself).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "stage1/common/runtime.hpp"

namespace ferry::stage1::kvm {

// mount(2), or an Error naming the mount.
void mountOrThrow(const char* src, const std::filesystem::path& dst, const char* type,
                  unsigned long flags, const char* data = nullptr);

// Every bind source of the apps' config.json mounts, with whether every use of it is read-only.
std::map<std::filesystem::path, bool> bindSources(const std::filesystem::path& podDir,
                                                  const std::vector<RuntimeApp>& apps);

struct ShareSpec {
  std::filesystem::path podDir;
  const RuntimeOptions* rt = nullptr;
  std::map<std::filesystem::path, bool> sources;  // bindSources
  std::filesystem::path init, stage2, guestEnter;
  std::optional<std::string> netConfig;  // kNetConfig's text (net "netns")
};

// In the caller's own mount namespace (private): the apps' rootfs mounted (overlay or copy),
// then at `root` a read-only tmpfs holding the pod directory (read-only; status/, logs/, the
// apps' rootfs and volumes writable; kvm/ hidden), the bind sources, ferry-init, ferry-stage2
// and guest-enter (read-only), and kNetConfig.
void buildShare(const ShareSpec& spec, const std::filesystem::path& root);

// virtiofsd on `root`, serving kFsSocket of the current directory (made here) with the least
// privilege it can (see share.cpp); its log is virtiofsd.log there. Throws when it ended at its
// start. The caller is its parent (and reaps it).
void startVirtiofsd(const std::filesystem::path& virtiofsd, const std::filesystem::path& root);

}  // namespace ferry::stage1::kvm
