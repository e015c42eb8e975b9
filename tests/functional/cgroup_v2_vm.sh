#!/usr/bin/env bash
# The ns stage1's limits on a pure cgroup v2 host, which a hybrid host (cgroup v1 controllers,
# v2 at /sys/fs/cgroup/unified) is not: one qemu TCG guest (vm_lib.sh) boots Debian's kernel with
# cgroup2 alone on /sys/fs/cgroup and runs cgroup_v2_vm_guest.sh there, over the host's /
# (read-only), with the same build. The guest's checks are listed in that script.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
vm_require
: "${STAGE1_NS:?STAGE1_NS must point to the built ns stage1 directory}"
vm_run_guest cgroup_v2_vm cgroup_v2_vm_guest.sh
