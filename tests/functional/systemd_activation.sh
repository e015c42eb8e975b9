#!/usr/bin/env bash
# Readiness and socket activation against a real systemd (systemd_lib.sh):
# - an app whose image has appc.io/executor/supports-systemd-notify=true gets a notify socket of
#   its own (NOTIFY_SOCKET); the pod is ready once every such app said READY=1 (at once when none
#   speaks sd_notify): `ferry status --wait-ready`, a Type=notify unit (`run --unit`, systemd-run
#   --service-type=notify ferry run) whose start waits for it;
# - a .socket unit's descriptors reach the app whose port is socketActivated, with LISTEN_PID its
#   own pid and no other descriptor, for a client that connected before the pod existed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
sd_test_setup

# The image: busybox, sd-probe, the notify annotation and a socket-activated port "http".
IMG=$T/sd.aci
sd_probe_image "$IMG"

# Without systemd: --wait-ready waits for READY=1, which comes over the app's own socket.
F run --uuid-file-save="$T/u1" "$IMG" --exec /bin/sh -- -c \
  'echo up; [ "$NOTIFY_SOCKET" = /run/systemd/notify ] || echo "NOTIFY_SOCKET=$NOTIFY_SOCKET"; sleep 1; echo notifying; sd-probe notify READY=1; sleep 1000' \
  >"$T/r1.out" 2>&1 &
bg+=($!)
wait_for "the pod to start" sh -c "grep -q up '$T/r1.out'"
u1=$(cat "$T/u1")
[ ! -e "$D/pods/run/$u1/ready" ] || fail "ready before the app notified"
expect_status 0 F status --wait-ready=20s "$u1"
grep -q notifying "$T/r1.out" || fail "status --wait-ready returned before the app notified: $(cat "$T/r1.out")"
grep -q NOTIFY_SOCKET= "$T/r1.out" && fail "the app's NOTIFY_SOCKET: $(cat "$T/r1.out")"
ok "status --wait-ready waits for the app's READY=1 on its own notify socket"
expect_status 0 F stop "$u1"
expect_status 0 F status --wait=20s "$u1"
# A pod that ends before it is ready: --wait-ready fails.
expect_status 0 F prepare "$IMG" --exec /bin/sh -- -c 'exit 3'
u2=$(cat "$T/out")
expect_status 3 F run-prepared "$u2"
expect_status 254 F status --wait-ready=5s "$u2"
one_line "wait-ready on an ended pod"
ok "status --wait-ready on a pod that ended unready: 254, one line"

sd_boot

# run --unit: a Type=notify service; ferry's start job, and so run --unit, end when the pod is
# ready, i.e. after the app's READY=1.
expect_status 0 F run --unit "$IMG" --exec /bin/sh -- -c 'sleep 1; echo notifying; sd-probe notify READY=1; exec sleep 1000'
u3=$(sed -n 's/^uuid=//p' "$T/out")
grep -q notifying "$D/pods/run/$u3/logs/sd-probe.log" || fail "run --unit returned before the app notified"
[ "$(in_sd systemctl show -P Type "ferry-$u3.service")" = notify ] || fail "Type=$(in_sd systemctl show -P Type "ferry-$u3.service")"
[ "$(in_sd systemctl show -P ActiveState "ferry-$u3.service")" = active ] || fail "not active"
ok "run --unit: a Type=notify unit, started when the app said READY=1"
expect_status 0 F stop "$u3"

# A user's unit: systemd-run --service-type=notify ferry run (NotifyAccess=main, the default).
in_sd systemd-run -q --unit=ferry-notify-user --service-type=notify "$FERRY" --dir "$D" \
  --insecure-options=image run --uuid-file-save="$T/u4" "$IMG" --exec /bin/sh -- -c \
  'sleep 1; echo notifying; sd-probe notify READY=1; exec sleep 1000'
u4=$(cat "$T/u4")
grep -q notifying "$D/pods/run/$u4/logs/sd-probe.log" || fail "systemd-run returned before the app notified"
[ "$(in_sd systemctl show -P ActiveState ferry-notify-user.service)" = active ] || fail "ferry-notify-user is not active"
ok "systemd-run --service-type=notify ferry run: started when the app said READY=1"
in_sd systemctl stop ferry-notify-user.service
in_sd systemctl reset-failed ferry-notify-user.service 2>/dev/null || true

# Socket activation: a .socket unit listens; a client connects before any pod exists; the service
# runs ferry, whose app gets the socket (named http after FileDescriptorName) and nothing else.
in_sd sh -c "cat >/run/systemd/system/ferry-sa.socket" <<UNIT
[Socket]
ListenStream=/run/ferry-sa.sock
FileDescriptorName=http
UNIT
in_sd sh -c "cat >/run/systemd/system/ferry-sa.service" <<UNIT
[Service]
ExecStart=$FERRY --dir $D --insecure-options=image run --uuid-file-save=$T/u5 $IMG --exec /bin/sd-probe -- serve
UNIT
in_sd systemctl daemon-reload
in_sd systemctl start ferry-sa.socket
[ ! -e "$T/u5" ] || fail "a pod before any client"
reply=$(in_sd_readline /run/ferry-sa.sock)
[ "$reply" = "hello http fds=0,1,2,3" ] || fail "the activated app said: $reply"
u5=$(cat "$T/u5")
wait_for "the activated pod to end" sh -c "[ -s '$D/pods/run/$u5/exit' ] || [ -s '$D/pods/exited-garbage/$u5/exit' ]"
grep -q 'served 1 fds=0,1,2,3' "$D/pods/run/$u5/logs/sd-probe.log" || fail "log: $(cat "$D/pods/run/$u5/logs/sd-probe.log")"
ok "socket activation: the client's connection reached the app on fd 3 (named http, LISTEN_PID its own, no other fd)"
in_sd systemctl stop ferry-sa.socket ferry-sa.service

# An app without a socket-activated port gets none of them.
in_sd sh -c "cat >/run/systemd/system/ferry-sa.service" <<UNIT
[Service]
ExecStart=$FERRY --dir $D --insecure-options=image run --uuid-file-save=$T/u6 $BB --exec /bin/sh -- -c 'ls /proc/self/fd; echo LISTEN=\$LISTEN_FDS'
UNIT
in_sd systemctl daemon-reload
in_sd systemctl start ferry-sa.socket
in_sd timeout 30 python3 -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/ferry-sa.sock")
s.recv(10)' 2>/dev/null || true
wait_for "the second pod" sh -c "[ -s '$T/u6' ]"
u6=$(cat "$T/u6")
wait_for "the second pod to end" sh -c "[ -s '$D/pods/run/$u6/exit' ]"
log=$(tr '\n' ' ' <"$D/pods/run/$u6/logs/busybox.log")
[ "$log" = "0 1 2 3 LISTEN= " ] || fail "an app without socket-activated ports saw: $log"
ok "an app without a socket-activated port gets no activation descriptor, nor LISTEN_FDS"
in_sd systemctl stop ferry-sa.socket ferry-sa.service
# (the socket fails: its connection was never accepted, so it kept triggering the service)
in_sd systemctl reset-failed ferry-sa.socket ferry-sa.service 2>/dev/null || true
in_sd rm /run/systemd/system/ferry-sa.socket /run/systemd/system/ferry-sa.service
in_sd systemctl daemon-reload
sd_no_ferry_units "after the activation tests"

echo "PASS: $checks checks"
