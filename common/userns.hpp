// User namespaces and idmapped mounts: the kernel side of `--private-users` (idmap.hpp says
// which host IDs a pod gets).
//
// makeUserns returns a descriptor on a new user namespace whose IDs 0…count-1 are the range's
// host IDs. The kernel ties a user namespace to a process, so a short-lived helper creates it:
//
//   caller                                   helper (clone(CLONE_NEWUSER): born in the new ns)
//   clone ─────────────────────────────────► blocks reading a pipe
//   writes /proc/H/uid_map, gid_map
//   opens /proc/H/ns/user (the fd keeps the namespace alive)
//   closes the pipe ───────────────────────► EOF: _exit(0)
//   reaps it
//
// The caller is root in its own user namespace, so it may map any host IDs and needs no
// "setgroups deny" before writing gid_map.
//
// An idmapped mount shows a tree through a user namespace's mapping: a file stored with uid N
// appears as host uid start+N, and a file created through the mount by host uid start+N is
// stored with uid N. Inside the user namespace (the pod) the same file is uid N again. So the
// image store's trees, owned by 0…, serve as the lower layer of a pod whose root is an
// unprivileged host uid, without a chown. Overlayfs accepts idmapped lower layers (Linux 5.19);
// it takes private clones of its layers, so the idmapped lower may be unmounted once the overlay
// is mounted. The upper directory is a plain directory owned by the mapped root.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/fs.hpp"
#include "common/idmap.hpp"

namespace ferry::userns {

// A user namespace mapping uids and gids 0…count-1 to `range` (O_CLOEXEC descriptor, usable
// with setns(2) and MOUNT_ATTR_IDMAP).
UniqueFd makeUserns(const idmap::IdRange& range);

// Writes the uid_map and gid_map of process `pid`, which is in a user namespace that has none
// yet (a child cloned with CLONE_NEWUSER): its IDs 0…count-1 become `range`.
void mapIds(pid_t pid, const idmap::IdRange& range);

// A detached recursive clone of the tree at `source` (open_tree(OPEN_TREE_CLONE|AT_RECURSIVE))
// idmapped through `usernsFd` (mount_setattr(MOUNT_ATTR_IDMAP)), every submount included.
UniqueFd idmappedTree(const std::filesystem::path& source, int usernsFd);

// Attaches a detached mount (idmappedTree) at `target`, an existing directory (move_mount).
void attachTree(int treeFd, const std::filesystem::path& target);

// idmappedTree + attachTree.
void idmappedBind(const std::filesystem::path& source, const std::filesystem::path& target,
                  int usernsFd);

// Whether the kernel and the filesystems of the tree at `dir` (submounts included) can be
// idmapped: tries it on a detached clone, which is gone when this returns. nullopt when they
// can; otherwise why not ("… does not support idmapped mounts: Invalid argument").
std::optional<std::string> idmapUnsupported(const std::filesystem::path& dir, int usernsFd);

}  // namespace ferry::userns
