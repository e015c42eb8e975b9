#!/usr/bin/env bash
# Store poisoning between pods: pod A (root) rewrites /bin/busybox and /etc/passwd of its rootfs
# in place and makes them setuid, then pod B of the same image must see the originals, the tree
# in the store (cas/trees) must be byte for byte and mode for mode what it was, and
# `ferry image verify` must pass. Once with the overlay rootfs, once with --no-overlay (a copy of
# the tree per pod).
source "$(dirname "$0")/escape_lib.sh"
escape_setup

img=$(hostile_image poison '{"exec":["/probe/sys","poison","/bin/busybox","/etc/passwd"],"user":"0","group":"0"}')
want_passwd=$(head -1 "$T/img-poison/rootfs/etc/passwd")
want_busybox="$(stat -c '%a %s' "$T/img-poison/rootfs/bin/busybox")"
for mode in overlay no-overlay; do
  flags=()
  [ $mode = overlay ] || flags=(--no-overlay)
  run_pod "pod A ($mode)" "${flags[@]}" "$img"
  [ "$(grep -c '^ok ' "$T/out")" -eq 2 ] || { cat "$T/out" "$T/err" >&2; fail "$mode: pod A could not rewrite its own rootfs (the test would prove nothing)"; }
  ok "$mode: pod A rewrote /bin/busybox and /etc/passwd in its rootfs and made them setuid"
  trees=$(find "$D/cas/trees" -path '*/rootfs/etc/passwd' | sed 's|/rootfs/etc/passwd$||')
  [ -n "$trees" ] || fail "$mode: no tree of the image in the store"
  for t in $trees; do
    [ "$(head -1 "$t/rootfs/etc/passwd")" = "$want_passwd" ] || fail "$mode: the store's $t/rootfs/etc/passwd was rewritten"
    cmp -s /bin/busybox "$t/rootfs/bin/busybox" || fail "$mode: the store's $t/rootfs/bin/busybox was rewritten"
    [ "$(stat -c '%a %s' "$t/rootfs/bin/busybox")" = "$want_busybox" ] || fail "$mode: the store's busybox changed mode: $(stat -c '%a %s' "$t/rootfs/bin/busybox")"
  done
  ok "$mode: the store's tree is as it was"
  expect_status 0 F image verify
  ok "$mode: ferry image verify passes"
  run_pod "pod B ($mode)" "${flags[@]}" "$img" --exec /bin/sh -- -c \
    'busybox stat -c "%a %s" /bin/busybox; busybox head -1 /etc/passwd'
  [ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "$mode: pod B exited $st"; }
  grep -qx "$want_busybox" "$T/out" && grep -qxF "$want_passwd" "$T/out" ||
    { cat "$T/out" >&2; fail "$mode: pod B did not see the originals"; }
  ok "$mode: pod B sees the original busybox ($want_busybox) and /etc/passwd"
done
host_unchanged "store poisoning"
# Control: a tree rewritten behind the store's back is what image verify reports.
t=$(echo "$trees" | head -1)
echo poisoned >"$t/rootfs/etc/passwd"
if F image verify >/dev/null 2>&1; then fail "control: image verify missed a rewritten tree"; fi
ok "control: ferry image verify fails on a tree rewritten in the store"
echo "escape.store_poisoning: $checks checks passed"
