#!/usr/bin/env bash
# The kvm stage1's share, from a guest root that owns its guest (every capability, no seccomp:
# what a pod that took the guest's kernel could do): it mounts the share again and tries to
# write what the host trusts — stage1-ref (which names the stage1 entrypoints gc and stop run
# as root), runtime.json, lock, a new file in the pod directory, ferry-init and ferry-stage2 —
# and to reach the flavor's kvm/ (sockets, pids) and the host's canary. Every write is refused
# (read-only share), kvm/ is empty, the host is unchanged; the control: status/ is written.
# Then the guest's own copies of ferry-init and ferry-stage2 (the initramfs's /ferry, bound
# read-only over the share's for the pod init, which starts every app): a chroot escape
# (CAP_SYS_CHROOT, which every app has) ends at the app's root, not at the initramfs; and from
# the pod init's mount namespace, with the bind made writable again, a write is still refused
# (the initramfs itself is read-only).
source "$(dirname "$0")/escape_lib.sh"
FERRY_STAGE1=kvm
escape_setup
[ -s "$NS/guest/vmlinux" ] || skip "the kvm stage1 has no guest: $(cat "$NS/guest/MISSING" 2>/dev/null)"
export FERRY_KVM_BOOT_TIMEOUT=${FERRY_KVM_BOOT_TIMEOUT:-240}

img=$(hostile_image kvm-share '{"exec":["/bin/sh","-c","exit 0"],"user":"0","group":"0"}')
script='mkdir -p /mnt; /bin/busybox mount -t virtiofs ferry /mnt 2>/dev/null ||
  /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L ferry /mnt || { echo no-mount; exit 1; }
P=$(ls -d /mnt$PODS/*/ | head -1)
[ -f "$P/runtime.json" ] && echo share-mounted
for f in stage1-ref runtime.json lock newfile; do
  if echo hostile >"$P/$f" 2>/dev/null; then echo "wrote $f"; fi
done
for f in $FERRY_BINARIES; do if echo hostile >"/mnt$f" 2>/dev/null; then echo "wrote $f"; fi; done
[ -z "$(ls -A "$P/kvm" 2>/dev/null)" ] && echo kvm-empty
ls "/mnt$CANARY" >/dev/null 2>&1 && echo canary-visible
echo control >"$P/status/control" && echo status-written
for f in /init /ferry/ferry-init /ferry/ferry-stage2; do /probe/sys chroot-escape $f; done
for f in $FERRY_BINARIES; do
  /bin/busybox nsenter -t 1 -m -w/ ./bin/busybox sh -c "./bin/busybox mount -o remount,bind,rw $f &&
    echo rw-bind $f; echo hostile >>$f && echo wrote-copy $f" 2>&1
done
exit 0'
pods=$D/pods/run
bins="$NS/bin/ferry-init $NS/bin/ferry-stage2"
run_pod "a guest root on the share" --insecure-options=image,all-run \
  --set-env=PODS="$pods" --set-env=FERRY_BINARIES="$bins" --set-env=CANARY="$C" \
  "$img" --exec /bin/sh -- -c "$script"
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the pod exited $st"; }
grep -qx share-mounted "$T/out" || fail "the guest root could not mount the share: $(cat "$T/out" "$T/err")"
grep -qx status-written "$T/out" || fail "control: status/ not written: $(cat "$T/out")"
if grep '^wrote ' "$T/out"; then fail "the guest wrote what the host trusts"; fi
grep -qx kvm-empty "$T/out" || fail "the flavor's kvm/ is visible to the guest"
for f in /init /ferry/ferry-init /ferry/ferry-stage2; do
  grep -q "^denied chroot escape reached $f " "$T/out" ||
    fail "a chroot escape reached the guest's $f (or could not chroot): $(grep chroot "$T/out")"
done
for b in $bins; do
  grep -qx "rw-bind $b" "$T/out" || fail "control: the bind over $b not made writable: $(cat "$T/out")"
done
if grep '^wrote-copy ' "$T/out"; then fail "the guest's copy of ferry-init or ferry-stage2 was written"; fi
! grep -qx canary-visible "$T/out" || fail "the host's canary is visible to the guest"
u=$(ls "$pods")
P=$pods/$u
jq -e . "$P/runtime.json" >/dev/null && [ "$(jq -r .name "$P/stage1-ref")" = kvm ] ||
  fail "runtime.json or stage1-ref changed: $(cat "$P/stage1-ref")"
[ ! -e "$P/newfile" ] && [ ! -s "$P/lock" ] || fail "the pod directory was written"
for b in ferry-init ferry-stage2; do
  [ "$(stat -c %s "$NS/bin/$b")" -gt 100000 ] || fail "$b was written"
done
host_unchanged "a guest root on the share"
ok "a guest root that mounts the share writes only status/: stage1-ref, runtime.json, lock, the pod directory, ferry-init and ferry-stage2 refused, kvm/ hidden; a chroot escape ends at the app's root; the initramfs copies stay read-only"
echo "# $checks checks"
