// Who an app runs as: process.user from config.json, or the appc user/group that stage0 could
// not turn into numbers (annotations dev.ferry.user / dev.ferry.group, stage1/ABI.md §3),
// resolved against the app's own /etc/passwd and /etc/group, never the host's.
//
// parsePasswd/parseGroup are pure (unit-tested); resolveCredentials reads the files and stats
// `/path` owners through a directory fd of the app's root, so a symlink in the image can only
// ever point inside it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/runtime_spec.hpp"
#include "stage1/common/keys.hpp"

namespace ferry::stage2 {

inline constexpr std::string_view kUserAnnotation = keys::kUser;
inline constexpr std::string_view kGroupAnnotation = keys::kGroup;

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

// The well-formed entries of an /etc/passwd or /etc/group text; comments, blank lines, NIS
// (+/-) lines and malformed lines are skipped, as glibc's files backend does.
std::vector<PasswdEntry> parsePasswd(std::string_view text);
std::vector<GroupEntry> parseGroup(std::string_view text);

// A decimal id in [0, 2^32-2] (2^32-1 is (uid_t)-1, "no change" to setresuid), or nothing.
std::optional<uint32_t> parseId(std::string_view s);

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additionalGids;
};

// process.user, with the annotations applied: a number is used as is, "/path" means the owner
// (uid, or gid for the group) of that path inside the root, and anything else a name looked up
// in the root's /etc/passwd or /etc/group. rootFd is a directory fd of the app's root (after
// pivot_root simply "/"). Throws Error naming the user, the file and the reason.
Credentials resolveCredentials(const oci::RuntimeSpec& spec, int rootFd);

// setgroups, setresgid, setresuid; the caller keeps the capabilities it needs across the switch
// with PR_SET_KEEPCAPS (see capabilities.hpp).
void switchCredentials(const Credentials& creds);

}  // namespace ferry::stage2
