#!/usr/bin/env bash
# The ns stage1's limits on a pure cgroup v2 host, which this machine is not (it is hybrid: see
# /work/shared/MACHINE.md): one qemu TCG guest (tests/vm/run-in-vm) boots Debian's kernel with
# cgroup2 alone on /sys/fs/cgroup and runs cgroup_v2_vm_guest.sh there, over the host's /
# (read-only), with the same build. The guest's checks are listed in that script.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "the guest and the ns stage1 need root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed (dist/setup)"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no Debian kernel in /boot (linux-image-amd64, dist/setup)"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
: "${STAGE1_NS:?STAGE1_NS must point to the built ns stage1 directory}"
VM=$(cd "$(dirname "$0")/../vm" && pwd)/run-in-vm
start=$(date +%s)
set +e
# The checkout and the build are shared at their paths: the guest's tmpfs on /tmp, /run and
# /var/tmp would hide them in its view of the host's / (a clone in /tmp, as CI may make).
here=$(cd "$(dirname "$0")" && pwd)
shares=(--share "$(cd "$here/../.." && pwd)")
build=$(cd "$FIXTURES/.." && pwd)
case "$build/" in "$(cd "$here/../.." && pwd)/"*) ;; *) shares+=(--share "$build") ;; esac
"$VM" --timeout "${FERRY_VM_TIMEOUT:-300}" "${shares[@]}" -- bash "$here/cgroup_v2_vm_guest.sh"
rc=$?
set -e
echo "cgroup_v2_vm: guest run took $(($(date +%s) - start)) s"
[ "$rc" -ne 125 ] || fail "the guest could not run the test (run-in-vm exited 125)"
[ "$rc" -eq 0 ] || fail "the guest's checks failed (exit $rc)"
