#!/usr/bin/env bash
# Pods as units of a real systemd on a pure cgroup v2 host, which this machine is not (hybrid:
# nspawn cannot give its container v2 controllers here): one qemu TCG guest (tests/vm/run-in-vm)
# boots Debian's kernel with cgroup2 alone and runs systemd_v2_vm_guest.sh there, which boots
# the test systemd of systemd_lib.sh inside it. The guest's checks are listed in that script.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "the guest and the ns stage1 need root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed (dist/setup)"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no Debian kernel in /boot (linux-image-amd64, dist/setup)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (dist/setup)"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
VM=$(cd "$(dirname "$0")/../vm" && pwd)/run-in-vm
start=$(date +%s)
set +e
here=$(cd "$(dirname "$0")" && pwd)
shares=(--share "$(cd "$here/../.." && pwd)")
build=$(cd "$FIXTURES/.." && pwd)
case "$build/" in "$(cd "$here/../.." && pwd)/"*) ;; *) shares+=(--share "$build") ;; esac
"$VM" --timeout "${FERRY_VM_TIMEOUT:-300}" "${shares[@]}" -- bash "$here/systemd_v2_vm_guest.sh"
rc=$?
set -e
echo "systemd_v2_vm: guest run took $(($(date +%s) - start)) s"
[ "$rc" -ne 125 ] || fail "the guest could not run the test (run-in-vm exited 125)"
[ "$rc" -eq 0 ] || fail "the guest's checks failed (exit $rc)"
