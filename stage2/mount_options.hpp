// The `options` of a config.json mount (runtime-spec config.md "mounts", mount(8) names) split
// into mount(2) flags, propagation changes and the filesystem's data string. Pure.
#pragma once

#include <string>
#include <vector>

namespace ferry::stage2 {

struct MountOptions {
  unsigned long flags = 0;                 // MS_RDONLY, MS_NOSUID, … (no MS_BIND/MS_REC)
  bool bind = false;                       // "bind" or "rbind"
  bool recursive = false;                  // "rbind"
  std::vector<unsigned long> propagation;  // MS_PRIVATE, MS_SHARED|MS_REC, … in order
  std::string data;                        // the rest, comma-joined: "mode=755,size=65536k"
  friend bool operator==(const MountOptions&, const MountOptions&) = default;
};

// Later options win over earlier ones ("ro" then "rw" is rw), as in mount(8).
MountOptions parseMountOptions(const std::vector<std::string>& options);

}  // namespace ferry::stage2
