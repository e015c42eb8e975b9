#!/usr/bin/env bash
# A pod on the nspawn stage1 leaves the host's cgroup mounts as they were. systemd-nspawn remounts
# a /sys/fs/cgroup it finds mounted (the stage1 binds the host's tree there) read-only with
# MS_REMOUNT alone, i.e. through the superblock: on a bind of the host's tmpfs that made the
# host's /sys/fs/cgroup read-only for everyone (crun then failed with "creating cgroup directory
# …: No such file or directory"). The test runs in a mount namespace of its own whose
# /sys/fs/cgroup is a fresh tmpfs holding the host's hierarchies, so the host's own is never at
# stake, and compares every cgroup mount's superblock options before and after a pod.
if [ -z "${FERRY_TEST_OWN_MNTNS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: the nspawn stage1 needs root"; exit 77; }
  FERRY_TEST_OWN_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
FERRY_STAGE1=nspawn
pods_test_setup
[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] ||
  skip "/sys/fs/cgroup is no tmpfs here (nspawn leaves a cgroup2 root as it is)"

# The host's hierarchies under a fresh tmpfs; the staging bind is gone before anything runs (an
# rm -rf of $T must never walk into cgroup hierarchies).
stage=$(mktemp -d /tmp/ferry-cgstage-XXXXXX)
mount --rbind /sys/fs/cgroup "$stage"
mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
for e in "$stage"/*; do
  n=${e##*/}
  if [ -L "$e" ]; then
    cp -P "$e" "/sys/fs/cgroup/$n"
  elif [ -d "$e" ]; then
    mkdir "/sys/fs/cgroup/$n"
    mount --rbind "$e" "/sys/fs/cgroup/$n"
  fi
done
umount -l "$stage"
rmdir "$stage"

# Mount point and superblock options of every mount at or below /sys/fs/cgroup.
supers() { awk '$5 ~ "^/sys/fs/cgroup(/|$)" {print $5, $NF}' /proc/self/mountinfo | sort; }
supers >"$T/before"
grep -q '^/sys/fs/cgroup rw' "$T/before" || fail "the test's tmpfs is not read-write: $(cat "$T/before")"

expect_status 0 F run "$BB" --exec /bin/busybox -- echo nspawn-pod-ran
grep -q nspawn-pod-ran "$T/out" || fail "the pod did not run: $(cat "$T/out" "$T/err")"
ok "a pod ran on the nspawn stage1"

supers >"$T/after"
if ! diff "$T/before" "$T/after" >&2; then
  fail "a pod on the nspawn stage1 changed the superblock options of cgroup mounts (above)"
fi
ok "every cgroup mount keeps its superblock options (/sys/fs/cgroup's tmpfs read-write)"
