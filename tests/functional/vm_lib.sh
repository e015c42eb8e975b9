# A test whose checks run in one qemu TCG guest (tests/vm/run-in-vm) booting Debian's kernel with
# cgroup2 alone, which this machine is not (hybrid): the guest sees the host's / read-only, and
# the checkout and the build shared at their own paths (the guest's tmpfs on /tmp, /run and
# /var/tmp would hide them in that view: a clone in /tmp, as CI may make). Sourced after lib.sh.
#
#   vm_require              skips (77) unless root, qemu, a Debian kernel in /boot and jq
#   vm_run_guest NAME GUEST runs tests/functional/GUEST (a bash script) in the guest, says how
#                           long the guest took, and fails unless the guest's script passed

vm_require() {
  [ "$(id -u)" -eq 0 ] || skip "the guest and the ns stage1 need root"
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed (dist/setup)"
  ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no Debian kernel in /boot (linux-image-amd64, dist/setup)"
  command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
}

vm_run_guest() { # NAME GUEST
  local name=$1 here vm build start rc shares
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  vm=$(cd "$here/../vm" && pwd)/run-in-vm
  shares=(--share "$(cd "$here/../.." && pwd)")
  build=$(cd "$FIXTURES/.." && pwd)
  case "$build/" in "$(cd "$here/../.." && pwd)/"*) ;; *) shares+=(--share "$build") ;; esac
  start=$(date +%s)
  set +e
  "$vm" --timeout "${FERRY_VM_TIMEOUT:-300}" "${shares[@]}" -- bash "$here/$2"
  rc=$?
  set -e
  echo "$name: guest run took $(($(date +%s) - start)) s"
  [ "$rc" -ne 125 ] || fail "the guest could not run the test (run-in-vm exited 125)"
  [ "$rc" -eq 0 ] || fail "the guest's checks failed (exit $rc)"
}
