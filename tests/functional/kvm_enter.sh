#!/usr/bin/env bash
# ferry enter on the kvm stage1: the command runs in the app's namespaces inside the guest (the
# pod init is PID 1 there, the guest's kernel), with the app's environment, its stdin, stdout and
# stderr relayed over the channel and its exit status as enter's; a second session at once; an
# unknown app and an ended pod are refused in one line. The pod is `run --interactive` on a
# terminal (a pty script(1) made, as pods_flags.sh's pty_run): the app's stdio and /dev/console
# are a pty of the guest, the caller's window size reaches it, typed input arrives, its exit
# code is the pod's; enter on a terminal gets a pty in the guest the same way.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
kvm_test_setup

F fetch "$BB" >/dev/null
q() { printf '%q ' "$@"; }
cmd=$(q "$FERRY" --dir "$D" --insecure-options=image run --uuid-file-save="$T/u" --set-env=MARK=in-app \
  --interactive "$BB" --exec /bin/sh -- -c 'test -t 0 && test -t 1 && test -t 2 && echo tty-ok
    [ /dev/console -ef /proc/self/fd/0 ] && echo console-ok
    echo "size $(stty size)"; read line; echo "got:$line"
    echo up; while [ ! -e /quit ]; do /bin/busybox sleep 0.1; done; exit 7')
# script(1) runs CMD with $SHELL -c (see pods_flags.sh); its pty 33x101.
printf 'typed-line\n' | SHELL=/bin/bash timeout 600 script -qec "stty rows 33 cols 101; $cmd" /dev/null \
  >"$T/pod.out" 2>&1 &
run_pid=$!
bg+=($run_pid)
# (script's end of input, turned into a NUL by the raw switch, may be echoed "^@": pods_cli.sh)
pod_out() { tr -d '\r' <"$T/pod.out" | sed 's/\^@//g'; }
for i in $(seq 1 3000); do
  pod_out | grep -qx up && break
  kill -0 "$run_pid" 2>/dev/null || fail "the pod ended before it was up: $(pod_out)"
  sleep 0.1
done
pod_out | grep -qx up || fail "the pod is not up within 300 s: $(pod_out)"
u=$(cat "$T/u")
pod_out | grep -qx tty-ok || fail "--interactive: the app's stdio is not a terminal: $(pod_out)"
pod_out | grep -qx console-ok || fail "--interactive: /dev/console is not the app's terminal: $(pod_out)"
pod_out | grep -qx 'size 33 101' || fail "--interactive: the window size: $(pod_out)"
pod_out | grep -qx got:typed-line || fail "--interactive: typed input: $(pod_out)"
[ ! -s "$D/pods/run/$u/logs/busybox.log" ] || fail "an interactive app's output went to its log"
ok "--interactive on a terminal: the app's stdio and /dev/console are a pty in the guest, 33x101, typed input arrives"

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

# enter on a terminal (enter -it, as on ns): the command's stdio is a pty in the guest with the
# caller's size, typed input arrives, its exit status is enter's.
cmd=$(q "$FERRY" --dir "$D" enter --app=busybox "$u" /bin/sh -c 'test -t 0 && test -t 1 && test -t 2 && echo enter-tty-ok
  echo "esize $(stty size)"; echo "term=$TERM"; read line; echo "egot:$line"; exit 3')
set +e
printf 'typed-enter\n' | TERM=ferry-term SHELL=/bin/bash timeout 300 script -qec "stty rows 40 cols 120; $cmd" /dev/null \
  >"$T/enter-tty.out" 2>&1
rc=$?
set -e
etty() { tr -d '\r' <"$T/enter-tty.out" | sed 's/\^@//g'; }
[ "$rc" -eq 3 ] || fail "enter on a terminal exited $rc, want 3: $(etty)"
etty | grep -qx enter-tty-ok || fail "enter on a terminal: the command's stdio is not a terminal: $(etty)"
etty | grep -qx 'esize 40 120' || fail "enter on a terminal: the window size: $(etty)"
# TERM: the app's own (run --interactive gave it one), else the caller's, as on ns.
app_term=$(jq -r '.process.env[] | select(startswith("TERM=")) | sub("^TERM="; "")' "$D/pods/run/$u/apps/busybox/config.json")
[ -n "$app_term" ] || app_term=ferry-term
etty | grep -qx "term=$app_term" || fail "enter on a terminal: TERM, want $app_term: $(etty)"
etty | grep -qx egot:typed-enter || fail "enter on a terminal: typed input: $(etty)"
ok "enter on a terminal: a pty in the guest, 40x120, TERM $app_term, typed input, exit status 3"

expect_status 254 F enter --app=nosuch "$u" /bin/true
one_line "enter of an unknown app"
ok "an unknown app is refused in one line"

expect_status 0 F enter --app=busybox "$u" /bin/busybox touch /quit
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -eq 7 ] || fail "the interactive pod exited $rc, want 7: $(pod_out)"
ok "the interactive pod's exit code is the app's (7)"
set +e
F enter --app=busybox "$u" /bin/true >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "enter into an ended pod succeeded"
ok "enter into an ended pod fails ($rc)"
echo "# $checks checks"
