#!/usr/bin/env bash
# ferry enter on the kvm stage1: the command runs in the app's namespaces inside the guest (the
# pod init is PID 1 there, the guest's kernel), with the app's environment, its stdin, stdout and
# stderr relayed over the channel and its exit status as enter's; a second session at once; an
# unknown app and an ended pod are refused in one line.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
kvm_test_setup

F fetch "$BB" >/dev/null
F run --uuid-file-save="$T/u" --set-env=MARK=in-app "$BB" --exec /bin/sh -- -c \
  'echo up; while :; do /bin/busybox sleep 0.1; done' >"$T/pod.out" 2>"$T/pod.err" &
run_pid=$!
bg+=($run_pid)
for i in $(seq 1 3000); do
  grep -qx up "$T/pod.out" 2>/dev/null && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$T/pod.err" >&2; fail "the pod ended before it was up"; }
  sleep 0.1
done
grep -qx up "$T/pod.out" || fail "the pod is not up within 300 s"
u=$(cat "$T/u")

echo from-stdin >"$T/in"
set +e
F enter --app=busybox "$u" /bin/sh -c \
  'cat; echo "mark=$MARK"; echo "kernel $(uname -r)"; cat /proc/1/comm; echo to-stderr >&2; exit 5' \
  <"$T/in" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 5 ] || { cat "$T/out" "$T/err" >&2; fail "enter exited $rc, want 5"; }
grep -qx from-stdin "$T/out" || fail "stdin not relayed: $(cat "$T/out")"
grep -qx mark=in-app "$T/out" || fail "not the app's environment: $(cat "$T/out")"
grep -qx "kernel $(kvm_guest_release)" "$T/out" || fail "not in the guest: $(cat "$T/out")"
grep -qx ferry-init "$T/out" || fail "PID 1 is not the pod init: $(cat "$T/out")"
grep -qx to-stderr "$T/err" && ! grep -q to-stderr "$T/out" || fail "stderr: $(cat "$T/err")"
ok "enter: the app's environment in the guest's pod, stdin/stdout/stderr relayed, exit status 5"

F enter --app=busybox "$u" /bin/sh -c 'sleep 1; echo one' >"$T/one" 2>&1 &
p1=$!
F enter --app=busybox "$u" /bin/sh -c 'echo two' >"$T/two" 2>&1
wait "$p1"
[ "$(cat "$T/one")" = one ] && [ "$(cat "$T/two")" = two ] ||
  fail "two sessions: $(cat "$T/one" "$T/two")"
ok "two enter sessions at once"

expect_status 254 F enter --app=nosuch "$u" /bin/true
one_line "enter of an unknown app"
ok "an unknown app is refused in one line"

expect_status 0 F stop "$u"
set +e
wait "$run_pid"
set -e
set +e
F enter --app=busybox "$u" /bin/true >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "enter into an ended pod succeeded"
ok "enter into an ended pod fails ($rc)"
echo "# $checks checks"
