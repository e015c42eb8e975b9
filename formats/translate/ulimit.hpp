// Per-app resource limits (`--ulimit TYPE=SOFT[:HARD]`, podman's syntax), the pids limit
// (`--pids-limit`, `--pod-pids-limit`) and where they live.
//
// The reified pod manifest is the record of what a pod runs: a limit is an app annotation
// `dev.ferry.ulimit.<type>` = "SOFT:HARD" (decimal, or "unlimited"), so `ferry cat-manifest`
// shows it and a pod manifest written by hand or by `cat-manifest` (`--pod-manifest`) carries
// it too. appToRuntime() turns those annotations into config.json's process.rlimits
// (RLIMIT_<TYPE>), which ferry-stage2 applies before execve.
//
// appc has no isolator for the number of tasks, so a pids limit is an annotation as well:
// `dev.ferry.pids-limit` = a decimal N ≥ 1 or "max", on an app (its cgroup: config.json's
// linux.resources.pids) or on the pod manifest (the pod's cgroup: runtime.json's podResources).
// Pure: no system calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/appc/labels.hpp"
#include "formats/oci/runtime_spec.hpp"
#include "stage1/common/keys.hpp"

namespace ferry::translate {

inline constexpr std::string_view kUlimitAnnotationPrefix = keys::kUlimitPrefix;
inline constexpr uint64_t kUnlimited = UINT64_MAX;  // RLIM_INFINITY

struct Ulimit {
  std::string type;  // lowercase RLIMIT_* suffix: "nofile", "nproc", …
  uint64_t soft = 0;
  uint64_t hard = 0;

  // "nofile=1024:2048", "nofile=1024" (hard = soft), "core=unlimited", "stack=-1:-1".
  // Throws Error{kInvalid} naming what is wrong (the type list when the type is unknown).
  static Ulimit parse(std::string_view text);
  // "SOFT:HARD" as the annotation holds it; parseValue() reads it back.
  std::string valueText() const;
  static Ulimit parseValue(std::string_view type, std::string_view value);

  std::string annotationName() const { return std::string(kUlimitAnnotationPrefix) + type; }
  std::string rlimitName() const;  // "RLIMIT_NOFILE"
};

// The names --ulimit accepts, in a stable order.
const std::vector<std::string>& ulimitTypes();

// The app's `dev.ferry.ulimit.*` annotations as OCI rlimits, in annotation order. Throws
// Error{kInvalid} naming `path` and the annotation for a bad one.
std::vector<oci::Rlimit> rlimitsFromAnnotations(const appc::Annotations& annotations,
                                                std::string_view path);

inline constexpr std::string_view kPidsLimitAnnotation = keys::kPidsLimit;
inline constexpr int64_t kPidsMax = -1;  // OCI's pids.limit for "no limit"

// "N" (N ≥ 1), "max", "unlimited" or "-1" (kPidsMax). Throws Error{kInvalid} otherwise.
int64_t parsePidsLimit(std::string_view text);
// The annotation's text for a parsed limit: "N" or "max".
std::string pidsLimitText(int64_t limit);
// The `dev.ferry.pids-limit` annotation, parsed; Error{kInvalid} naming `path` when bad.
std::optional<int64_t> pidsLimitFromAnnotations(const appc::Annotations& annotations,
                                                std::string_view path);

}  // namespace ferry::translate
