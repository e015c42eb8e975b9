// The network namespace a stage1 gives a pod that does not share the host's (net "none" and
// "default", stage1/ABI.md §2): its loopback up; or the one stage0 made (net "netns").
#pragma once

#include <string>

#include "common/fs.hpp"

namespace ferry::stage1 {

// Brings `lo` of the calling process's network namespace up (ioctl SIOCSIFFLAGS). Throws.
void loopbackUp();

// The network namespace stage0 made for the pod (runtime.json "netns", ABI §2), opened for
// setns: refused (Errc::kSecurity) when it is the caller's own, the host's. Throws.
UniqueFd openPodNetns(const std::string& path);

}  // namespace ferry::stage1
