// The network namespace a stage1 gives a pod that does not share the host's (net "none" and
// "default", stage1/ABI.md §2): its loopback up.
#pragma once

namespace ferry::stage1 {

// Brings `lo` of the calling process's network namespace up (ioctl SIOCSIFFLAGS). Throws.
void loopbackUp();

}  // namespace ferry::stage1
