// The files a stage1 writes into a pod directory for itself, for gc and for stage0
// (stage1/ABI.md §1): cgroups.json, pid, exit; and the conventions around them (abi.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/cgroup.hpp"

namespace ferry::stage1 {

// cgroups.json: {"<hierarchy mount>": "<pod cgroup directory>", …}.
void writeCgroupsJson(const std::filesystem::path& podDir, const cgroup::Group& pod);
// nullopt when the file does not exist. Every entry is checked (cgroup::Group::fromRecord):
// normalised, strictly below a cgroup mount point, and named podCgroupName(uuid); else an
// Error{kSecurity} naming the file and the entry.
std::optional<cgroup::Group> readCgroupsJson(const std::filesystem::path& podDir,
                                             const std::string& uuid);

// `pid` and `exit`: a decimal number and "\n", written atomically (no fsync: nothing of a running
// pod outlives a reboot).
void writePidFile(const std::filesystem::path& podDir, pid_t pid);
void writeExitFile(const std::filesystem::path& podDir, int code);
// pid, exit, cgroups.json are read as ferry's own files only (common/own_file.hpp): under
// --private-users the pod's root may create files in the pod directory (ABI §1), and one it made
// where the stage1 writes later (exit while the pod runs) reads as missing.
// Reads `pid`; nullopt when missing, Error{kInvalid} when it is not a process ID.
std::optional<pid_t> readPidFile(const std::filesystem::path& podDir);
// The decimal number in a file such as pid or exit; nullopt when absent or empty.
std::optional<int64_t> readNumberFile(const std::filesystem::path& file);
// A file's modification time in unix nanoseconds; nullopt when absent.
std::optional<int64_t> fileTime(const std::filesystem::path& file);

// A recorded pid is the pod's PID 1 only while that process sits in the pod's cgroup: a pid file
// outliving its pod must never make a stage1 signal an unrelated process that reused the number.
bool isPodProcess(pid_t pid, const std::string& uuid);

// The canonical pod directory: the current working directory (stage0 chdirs there).
std::filesystem::path currentPodDir();

}  // namespace ferry::stage1
