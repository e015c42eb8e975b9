#!/usr/bin/env bash
# Pods as units of a real systemd on a pure cgroup v2 host, which this machine is not (hybrid:
# nspawn cannot give its container v2 controllers here): one qemu TCG guest (vm_lib.sh) runs
# systemd_v2_vm_guest.sh, which boots the test systemd of systemd_lib.sh inside it. The guest's
# checks are listed in that script.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
vm_require
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (dist/setup)"
vm_run_guest systemd_v2_vm systemd_v2_vm_guest.sh
