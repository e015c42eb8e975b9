#!/usr/bin/env bash
# Mounts and namespaces from a pod with the default capabilities (no CAP_SYS_ADMIN): mount(2) of
# tmpfs, proc and a bind, a read-write remount of /proc/sys, umount of /proc's masks, pivot_root,
# unshare(2) and clone(2) of every namespace, setns into the init's mount namespace, and the
# classic way back to CAP_SYS_ADMIN: a new user namespace (by unshare, clone or clone3), then a
# mount in it. Also the chroot escape (chroot into a subdirectory, climb with "..", chroot ".")
# with the default CAP_SYS_CHROOT: it reaches nothing because the app's root is a pivot_root,
# not a chroot. Every attempt must be refused; the host's canaries and mount table stay as they
# were. Controls: the chroot probe does escape a real chroot on the host, and the mount probe
# does mount when the operator grants CAP_SYS_ADMIN (so the refusals are not the probes' own).
source "$(dirname "$0")/escape_lib.sh"
escape_setup

host_mount_points >"$T/mounts.before"
script='for m in "tmpfs /tmp tmpfs -" "proc /tmp proc -" "none /tmp cgroup memory" "none /tmp cgroup2 -"; do /probe/sys mount $m; done
/probe/sys bind / /tmp; /probe/sys remount-rw /proc/sys
for p in /proc/keys /proc/timer_list /proc/acpi /proc/sys /sys/firmware; do /probe/sys umount $p; done
mkdir -p /tmp/new/old; /probe/sys pivot-root /tmp/new /tmp/new/old
for n in user mnt pid net ipc uts cgroup time; do /probe/sys unshare $n; done
for n in user mnt pid net ipc uts cgroup; do /probe/sys clone $n; done
for h in unshare clone clone3; do /probe/sys userns-mount $h /tmp; done
/probe/sys setns /proc/1/ns/mnt; /probe/sys setns /proc/self/ns/mnt
/probe/sys chroot-escape '"$C/file"'
exit 0'
app=$(jq -cn --arg s "$script" '{exec:["/bin/sh","-c",$s],user:"0",group:"0"}')
img=$(hostile_image mount-unshare "$app")

run_pod "mounts and namespaces" "$img"
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the pod exited $st"; }
expect_denied() { # PATTERN WHAT
  if ! grep -q "^denied $1" "$T/out"; then
    cat "$T/out" >&2
    fail "$2 was not refused"
  fi
  ok "$2 refused"
}
expect_denied "mount tmpfs on /tmp" "mount tmpfs"
expect_denied "mount proc on /tmp" "mount proc"
expect_denied "mount cgroup on /tmp" "mount of cgroup v1 (release_agent)"
expect_denied "mount cgroup2 on /tmp" "mount of cgroup2"
expect_denied "bind / on /tmp" "bind mount"
expect_denied "remount /proc/sys read-write" "read-write remount of /proc/sys"
for p in /proc/keys /proc/timer_list /proc/acpi /proc/sys /sys/firmware; do
  expect_denied "umount $p" "umount $p"
done
expect_denied "pivot_root" "pivot_root"
for n in user mnt pid net ipc uts cgroup time; do expect_denied "unshare $n " "unshare($n)"; done
for n in user mnt pid net ipc uts cgroup; do expect_denied "clone $n " "clone($n)"; done
expect_denied "unshare(CLONE_NEWUSER|CLONE_NEWNS)" "a user namespace by unshare"
expect_denied "clone(CLONE_NEWUSER|CLONE_NEWNS)" "a user namespace by clone"
expect_denied "clone3(CLONE_NEWUSER|CLONE_NEWNS)" "a user namespace by clone3"
! grep -q "^ok mount tmpfs in the new user namespace" "$T/out" || fail "a mount in a new user namespace worked"
[ "$(grep -c '^denied setns\|^denied open the namespace' "$T/out")" -eq 2 ] || { cat "$T/out" >&2; fail "setns was not refused"; }
ok "setns into the init's and the app's own mount namespace refused"
expect_denied "chroot escape reached" "the chroot escape"
host_unchanged "mounts and namespaces"
host_mount_points | diff -u "$T/mounts.before" - >&2 || fail "the host's mount table changed"
ok "the host's mount points are those of before"

# Control: the chroot probe escapes a real chroot(2) (run on the host; it only opens a file).
mkdir -p "$T/jail/probe" "$T/jail/tmp"
cp "$PROBES/sys" "$T/jail/probe/"
chroot "$T/jail" /probe/sys chroot-escape "$C/file" >"$T/out" || true
grep -q "^ok chroot escape reached $C/file" "$T/out" || { cat "$T/out" >&2; fail "control: the chroot probe did not escape a chroot"; }
ok "control: the same chroot probe escapes a chroot(2) root"
# Control: with CAP_SYS_ADMIN granted by the operator the mount probe mounts (in the pod's own
# mount namespace; the host table must still be unchanged).
run_pod "CAP_SYS_ADMIN" "$img" --caps-retain=CAP_SYS_ADMIN,CAP_SYS_CHROOT
grep -q "^ok mount tmpfs on /tmp" "$T/out" || { cat "$T/out" "$T/err" >&2; fail "control: no mount even with CAP_SYS_ADMIN"; }
ok "control: with CAP_SYS_ADMIN the mount probe mounts"
host_unchanged "mounts with CAP_SYS_ADMIN"
host_mount_points | diff -u "$T/mounts.before" - >&2 || fail "the host's mount table changed"
echo "escape.mount_unshare: $checks checks passed"
