// Mounts the ns stage1 makes and undoes: each app's root filesystem (an overlay whose lower
// layer is the tree store's rendered rootfs, or a copy of it where overlayfs refuses), and the
// clean-up gc does in the host's mount namespace.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ferry::stage1 {

enum class RootfsKind { kOverlay, kCopy };

// Mounts apps/<app>/rootfs from `tree`: overlayfs with upper and work directories under
// apps/<app>/ (created here), or, when the overlay mount fails (overlayfs missing, an upper
// directory on a filesystem overlayfs cannot use, …), a copy of the tree (common/copy_tree.hpp:
// owners, modes, times, xattrs, device nodes and hard links). Call it in the pod's mount namespace:
// the overlay then disappears with the namespace. The overlay is volatile (never synced: the
// pod's end does not wait for the disk) where the kernel has the option.
RootfsKind mountAppRootfs(const std::filesystem::path& appDir, const std::filesystem::path& tree,
                          bool overlay = true);

// In a pod with a user namespace (--private-users), in the pod's first process once it is the
// namespace's root: attaches `treeFd` (the app's tree idmapped into the namespace, handed over
// by the parent) at apps/<app>/lower, mounts apps/<app>/rootfs as an overlay over it with
// apps/<app>/upper and work (made by the parent, owned by the namespace's root) and the option
// userxattr (trusted.* xattrs are the host root's), then detaches the lower mount (overlayfs
// keeps its own clone). `appDir` is relative to the working directory, the pod directory: the
// namespace's root cannot walk the host path to it.
void mountIdmappedOverlay(const std::filesystem::path& appDir, int treeFd);

// Mount points at or under dir in the calling process's mount namespace, deepest first.
std::vector<std::filesystem::path> mountsUnder(const std::filesystem::path& dir);

// Detaches every mount at or under dir; returns how many were unmounted.
size_t unmountUnder(const std::filesystem::path& dir);

}  // namespace ferry::stage1
