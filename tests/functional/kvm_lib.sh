# Shared by the kvm stage1's tests (kvm_*.sh): sourced after lib.sh and pods_lib.sh. The pods of
# these tests boot QEMU guests under TCG (this machine has no usable KVM): each boot takes seconds
# (more under load), so the tests keep to few pods.

# Like pods_test_setup, on the kvm stage1 (FERRY wraps run/prepare with --stage1-name=kvm).
kvm_test_setup() {
  FERRY_STAGE1=kvm
  FERRY_REAL=$FERRY  # without the wrapper's --stage1-name
  # The build always assembles the flavor (its guest only where the machine has a kernel).
  local dir
  dir=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/kvm
  [ -f "$dir/stage1.json" ] || fail "the kvm stage1 is not built ($dir)"
  pods_test_setup
  [ -x /usr/bin/qemu-system-x86_64 ] || skip "qemu-system-x86_64 is not installed (dist/setup)"
  KVM=$NS
  if [ ! -s "$KVM/guest/vmlinux" ] || [ ! -s "$KVM/guest/initrd" ]; then
    skip "the kvm stage1 has no guest: $(cat "$KVM/guest/MISSING" 2>/dev/null || echo "not built")"
  fi
  # A hung guest fails the test instead of the ctest timeout.
  export FERRY_KVM_BOOT_TIMEOUT=${FERRY_KVM_BOOT_TIMEOUT:-240}
}

# What a pod of $D leaves on the host: processes working in a pod directory (QEMU, virtiofsd),
# the run entrypoints, unix sockets and mounts under $D. One line per kind, for before/after.
kvm_leftovers() {
  local p cwd procs=0
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $cwd in "$D"/*) procs=$((procs + 1)) ;; esac
  done
  echo "processes $procs"
  echo "sockets $(find "$D" -type s 2>/dev/null | wc -l)"
  echo "mounts $(grep -c -F " $D/" /proc/self/mountinfo || true)"
}

# The guest's kernel release (the flavor's guest/key starts with it).
kvm_guest_release() { cut -d' ' -f1 "$KVM/guest/key"; }
