// The last steps before execve: rlimits, the executable's lookup in the app's PATH, the
// descriptors the app must not inherit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/runtime_spec.hpp"

namespace ferry::stage2 {

// PATH used for the lookup when process.env has none (the appc and OCI default).
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// RLIMIT_NOFILE → RLIMIT_NOFILE's number; nothing for a name the platform does not have.
std::optional<int> rlimitResource(std::string_view name);

// setrlimit for each; above the current hard limit without CAP_SYS_RESOURCE the error says
// so (e.g. "cannot set RLIMIT_NOFILE to soft 1024, hard 2000000: the hard limit is 1048576 and
// raising it needs CAP_SYS_RESOURCE, which ferry-stage2 does not have").
void applyRlimits(const std::vector<oci::Rlimit>& rlimits);

// The value of NAME in a "NAME=value" list (the last one wins, as getenv after execve sees it).
std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view name);

// The file execve should run for argv0: itself when it holds a '/', else the first executable
// regular file in the PATH directories (an empty entry is the working directory), checked
// with access(X_OK) as the calling user. Throws Error{kNotFound} naming argv0 and PATH.
std::string findExecutable(const std::string& argv0, std::string_view path);

// Marks every descriptor above stderr close-on-exec (close_range; a loop on old kernels).
// Every descriptor from `first` up is marked close-on-exec.
void closeExtraFdsOnExec(unsigned first = 3);

}  // namespace ferry::stage2
