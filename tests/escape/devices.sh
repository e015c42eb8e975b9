#!/usr/bin/env bash
# The device allowlist (issue 9, finding 3). A hostile image runs as root with the default
# capabilities, CAP_MKNOD among them, and goes for the host's devices: it makes nodes for the
# first loop device (b 7:0: a host disk image, read and written), loop-control (c 10:237),
# the serial console (c 4:64) and /dev/mem (c 1:1), and opens them read-write; it also opens
# such nodes made by the host in a volume (the open check without the mknod one). Each must be
# refused by the device cgroup (EPERM) while /dev/null, zero, full, random, urandom and a new
# pty work, and /dev/tty answers as it does without a controlling terminal (ENXIO, not EPERM);
# the same through `ferry enter`. An image that ships a device node is refused at extraction.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
[ -e /dev/loop-control ] || skip "no loop driver on this host"

# Host nodes in a volume, made by the host (the pod needs no mknod for these).
mkdir -p "$T/hostdev"
mknod "$T/hostdev/loop0" b 7 0
mknod "$T/hostdev/loop-control" c 10 237
mknod "$T/hostdev/ttyS0" c 4 64
losetup -a >"$T/loops.before" 2>/dev/null || true

nodes='b:7:0:loop0 c:10:237:loop-control c:4:64:ttyS0 c:1:1:mem'
attempt='for n in '"$nodes"'; do IFS=:; set -- $n; unset IFS
/probe/probe mknod /dev/x-$4 $1 $2 $3; /probe/probe open-rw /dev/x-$4; done
for n in loop0 loop-control ttyS0; do /probe/probe open-rw /hostdev/$n; done
for d in null zero full random urandom tty; do /probe/probe open-rw /dev/$d; done
/probe/pty; exit 0'

# expect_confined WHAT FILE: the probes' lines in FILE say the pod was held to the allowlist.
expect_confined() {
  local what=$1 out=$2 n t ma mi name
  for n in $nodes; do
    IFS=: read -r t ma mi name <<<"$n"
    grep -qx "denied /dev/x-$name (Operation not permitted)" "$out" ||
      { cat "$out" >&2; fail "$what: mknod $t $ma:$mi ($name) was not refused with EPERM"; }
    grep -q "^denied /dev/x-$name " "$out" ||
      { cat "$out" >&2; fail "$what: $name was opened read-write"; }
  done
  for name in loop0 loop-control ttyS0; do
    grep -qE "^denied /hostdev/$name \((Operation not permitted|Permission denied)\)" "$out" ||
      { cat "$out" >&2; fail "$what: the host's $name node was opened read-write"; }
  done
  for d in null zero full random urandom; do
    grep -qx "ok /dev/$d" "$out" || { cat "$out" >&2; fail "$what: /dev/$d cannot be opened"; }
  done
  ! grep -q "^denied /dev/tty (Operation not permitted)" "$out" ||
    { cat "$out" >&2; fail "$what: /dev/tty is refused by the device rules"; }
  grep -q "^ok pty /dev/pts/" "$out" || { cat "$out" >&2; fail "$what: no pty could be opened"; }
}

host_devices_unchanged() { # WHAT
  losetup -a >"$T/loops.after" 2>/dev/null || true
  diff -u "$T/loops.before" "$T/loops.after" >&2 || fail "$1: the host's loop devices changed"
  host_unchanged "$1"
}

img=$(hostile_image devices "{\"exec\":[\"/bin/sh\",\"-c\",$(jq -Rs . <<<"$attempt")],\"user\":\"0\",\"group\":\"0\"}")
vol=(--volume "hostdev,kind=host,source=$T/hostdev" --mount volume=hostdev,target=/hostdev)

# --- ferry run
run_pod "devices" "${vol[@]}" "$img"
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the devices pod exited $st"; }
cp "$T/out" "$T/run.out"
expect_confined "run" "$T/run.out"
ok "run: mknod of loop0, loop-control, ttyS0 and mem refused (EPERM), host nodes in a volume not opened; null zero full random urandom and a pty work"
host_devices_unchanged "devices pod"

# --- ferry enter, into a running pod of the same image
rm -f "$T/u.enter"
F run --uuid-file-save="$T/u.enter" "${vol[@]}" "$img" --exec /bin/sh -- -c 'echo up; exec sleep 100' \
  >"$T/bg.out" 2>"$T/bg.err" &
bg+=($!)
wait_for "the pod to come up" grep -qx up "$T/bg.out"
u=$(cat "$T/u.enter")
set +e
F enter "$u" /bin/sh -c "$attempt" >"$T/enter.out" 2>"$T/enter.err"
est=$?
set -e
[ "$est" -eq 0 ] || { cat "$T/enter.err" >&2; fail "enter exited $est"; }
expect_confined "enter" "$T/enter.out"
ok "enter: the same refusals and the same working devices"
# A record without the hierarchies that hold the device rules (the devices controller's, every
# cgroup2 one): enter would stay in its own cgroups there, so it runs nothing. Not on kvm: the
# record enter acts on is its guest's, in the guest's own pod directory (no host file).
if applies_on_stage1 kvm "the pod's cgroups.json is its guest's, out of the host's reach"; then
  rec=$(find "$D/pods/run/$u" -maxdepth 1 -name cgroups.json)
  cp "$rec" "$T/record.orig"
  jq 'with_entries(select((.key | test("devices|unified")) | not))' "$T/record.orig" >"$rec"
  set +e
  F enter "$u" /probe/probe mknod /dev/y b 7 0 >"$T/enter.out" 2>"$T/enter.err"
  est=$?
  set -e
  cp "$T/record.orig" "$rec"
  ! grep -q "^ok /dev/y" "$T/enter.out" || fail "enter without the pod's device cgroups made b 7:0"
  [ "$est" -ne 0 ] && grep -q "cannot confine devices" "$T/enter.err" ||
    { cat "$T/enter.out" "$T/enter.err" >&2; fail "enter ran with a record missing the device hierarchies (exit $est)"; }
  ok "enter refuses a record without the device hierarchies (exit $est): $(grep -o 'cannot confine devices.*' "$T/enter.err" | cut -c1-90)"
fi
F stop --force "$u" >/dev/null 2>&1 || true
host_devices_unchanged "enter"

# --- an image that ships a device node: refused when its rootfs is extracted
img2=$(hostile_image shipsdev '{"exec":["/bin/true"],"user":"0","group":"0"}' 'mkdir -p dev && mknod dev/loop0 b 7 0')
run_pod "ships a device node" "$img2"
[ "$st" -ne 0 ] || fail "an image shipping b 7:0 ran"
grep -q "block device not allowed" "$T/err" || { cat "$T/err" >&2; fail "no clear refusal of the shipped device node"; }
[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "the refusal is not one line"; }
ok "an image shipping a block device node is refused at extraction (exit $st): …$(grep -o ': entry [^:]*: block device not allowed' "$T/err")"
host_devices_unchanged "shipped device node"
echo "escape.devices: $checks checks passed"
