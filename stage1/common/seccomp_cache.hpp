// The host's cache of compiled seccomp filters (stage1/ABI.md §3 "apps/<app>/seccomp.bpf").
//
// Compiling an app's linux.seccomp with libseccomp costs ferry-stage2 ~0.7 ms on every start of
// the same profile. The run entrypoint (before the pod's namespaces, as root on the host) looks
// each app's filter up in `$dir/cache/seccomp/<key hex>.bpf` (key: stage2/seccomp_filter.hpp
// seccompCacheKey, a SHA-256 of everything that decides the program), compiles and stores it
// there first when it is missing or its header is not that key's (temp file + fsync + rename,
// 0600, root's), and hard-links it into the bundle as apps/<app>/seccomp.bpf (no new inode: the
// data directory is one file system). ferry-stage2 then loads it instead of compiling, after
// checking the key and the body's checksum itself. Nothing here is needed for a pod to run: an
// app whose file is missing gets its filter compiled by stage2, so every failure is a line for
// --debug (or a warning when the cache itself is broken), never the pod's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stage1/common/runtime.hpp"

namespace ferry::stage1 {

// `$dir/cache/seccomp` for a pod directory `$dir/pods/run/<uuid>` (ABI §1: a pod only ever runs
// from run/), nullopt for a pod directory laid out otherwise.
std::optional<std::filesystem::path> seccompCacheDir(const std::filesystem::path& podDir);

// For every app of the pod whose config.json has linux.seccomp: apps/<app>/seccomp.bpf linked
// from the cache (compiled and stored first when needed). One line per app saying what was
// done, for --debug. Not for a pod in a user namespace (runtime.json privateUsers): its stage2
// cannot read root's 0600 file, and compiles as before.
std::vector<std::string> provideSeccompFilters(const std::filesystem::path& podDir,
                                               const RuntimeOptions& rt);

}  // namespace ferry::stage1
