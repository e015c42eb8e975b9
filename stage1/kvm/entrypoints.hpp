// The kvm stage1 (stage1/ABI.md §4 "kvm"): one QEMU virtual machine per pod.
//   run   — the share (virtiofsd, or QEMU's 9p), QEMU booting the flavor's guest kernel and
//           initramfs, whose /init runs ferry's pod init; the channel relayed (stage1/kvm/run.cpp);
//   stop  — SIGTERM to the run process, which sends it to the pod init over the channel;
//           --force: SIGKILL to QEMU;
//   enter — a command in a running app, over the channel (the ns stage1's enter, in the guest);
//   gc    — kills a QEMU or virtiofsd left (every process working in the pod's kvm/), fixes the
//           status files, removes the sockets.
// stop and gc are stage1/common's (stop_gc.hpp) with the flavor's hooks (stop_gc.cpp).
#pragma once

#include "stage1/common/entrypoint.hpp"

namespace ferry::stage1 {

int kvmRunEntrypoint(const Args& args);
int kvmStopEntrypoint(const Args& args);
int kvmEnterEntrypoint(const Args& args);
int kvmGcEntrypoint(const Args& args);

}  // namespace ferry::stage1
