#!/usr/bin/env bash
# Pods as transient systemd services, against a real systemd (systemd_lib.sh: a throwaway
# `systemd-nspawn --boot` of this machine's /usr): `run --unit` and `prepare` + `start --unit`
# make a service with Delegate=yes, KillMode=mixed, the slice and the pod's limits as unit
# properties (read back with systemctl show); list and status name the unit; the pod runs in the
# unit's cgroup; `ferry stop` stops the unit; a failing app fails the unit with its exit code;
# machined knows the pod as ferry-<uuid>; nothing is left after (no unit, scope or cgroup).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
# Pods ran in the test systemd (their pids are of its namespace): gone with it, then collected.
sd_test_setup
sd_boot
expect_status 0 F fetch "$BB"

show() { in_sd systemctl show -P "$2" "$1"; }

# run --unit: a service that outlives ferry run; its name and the pod's UUID on stdout.
expect_status 0 F run --unit --pod-memory=64M --pod-cpu=500m --pod-pids-limit=50 --stop-timeout=3s \
  "$BB" --exec /bin/sh -- -c 'echo up; exec sleep 1000'
u=$(sed -n 's/^uuid=//p' "$T/out")
unit=$(sed -n 's/^unit=//p' "$T/out")
[ "$unit" = "ferry-$u.service" ] || fail "run --unit printed: $(cat "$T/out")"
ok "run --unit prints unit=ferry-<uuid>.service and uuid="
[ "$(show "$unit" ActiveState)" = active ] || fail "$unit is $(show "$unit" ActiveState)"
[ "$(show "$unit" Delegate)" = yes ] || fail "Delegate=$(show "$unit" Delegate)"
[ "$(show "$unit" KillMode)" = mixed ] || fail "KillMode=$(show "$unit" KillMode)"
[ "$(show "$unit" Slice)" = machine.slice ] || fail "Slice=$(show "$unit" Slice)"
[ "$(show "$unit" MemoryMax)" = 64000000 ] || fail "MemoryMax=$(show "$unit" MemoryMax)"
[ "$(show "$unit" CPUQuotaPerSecUSec)" = 500ms ] || fail "CPUQuotaPerSecUSec=$(show "$unit" CPUQuotaPerSecUSec)"
[ "$(show "$unit" TasksMax)" = 50 ] || fail "TasksMax=$(show "$unit" TasksMax)"
ok "the unit: active, Delegate=yes, KillMode=mixed, machine.slice, MemoryMax/CPUQuota/TasksMax from the pod's limits"

wait_for "the pod to run" sh -c "grep -q up '$D/pods/run/$u/logs/busybox.log' 2>/dev/null"
expect_status 0 F status "$u"
grep -qx "unit=$unit" "$T/out" || fail "status: $(cat "$T/out")"
grep -qx "state=running" "$T/out" || fail "status: $(cat "$T/out")"
expect_status 0 F list --no-legend --full
awk -v u="$u" '$1 == u {print $8}' "$T/out" | grep -qx "$unit" || fail "list: $(cat "$T/out")"
ok "status and list name the unit"

# The pod's processes are in the unit's cgroup (below it: the pod's own, delegated).
cg=$(show "$unit" ControlGroup)
pid=$(cat "$D/pods/run/$u/pid")
in_sd sh -c "cat /proc/$pid/cgroup" | grep -q "^0::$cg/ferry-$u/" ||
  in_sd sh -c "cat /proc/$pid/cgroup" | grep -q "name=systemd:$cg/ferry-$u/" ||
  fail "the pod init is not below $cg: $(in_sd cat /proc/$pid/cgroup)"
ok "the pod's cgroups are below the unit's ($cg)"

in_sd machinectl show "ferry-$u" -p Unit -p Class -p Service >"$T/machine" ||
  fail "machined does not know ferry-$u"
grep -qx "Unit=$unit" "$T/machine" && grep -qx "Class=container" "$T/machine" &&
  grep -qx "Service=ferry" "$T/machine" || fail "machinectl show: $(cat "$T/machine")"
ok "machined knows the pod as ferry-<uuid>, in its unit"

# The machine's leader is the pod's init, in the pod's namespaces (machinectl shell, login, bind
# and copy-to act in the leader's): never a ferry process in the system's own.
machine_known() { in_sd machinectl show "ferry-$1" -p Leader >/dev/null 2>&1; }
machine_leader_is_init() { # UUID WHAT
  local leader ns
  wait_for "machined to know ferry-$1" machine_known "$1"
  leader=$(in_sd machinectl show "ferry-$1" -p Leader --value)
  [ "$leader" = "$(cat "$D/pods/run/$1/pid")" ] ||
    fail "$2: the machine's leader is $leader ($(in_sd cat /proc/"$leader"/cmdline | tr '\0' ' ')), not the pod's init $(cat "$D/pods/run/$1/pid")"
  in_sd machinectl status "ferry-$1" >"$T/mstatus" 2>&1 || true
  grep -q "Leader: $leader " "$T/mstatus" || fail "$2: machinectl status: $(cat "$T/mstatus")"
  for ns in pid mnt; do
    [ "$(in_sd readlink /proc/"$leader"/ns/$ns)" != "$(in_sd readlink /proc/1/ns/$ns)" ] ||
      fail "$2: the leader $leader shares the system's $ns namespace"
  done
}
machine_leader_is_init "$u" "run --unit"
ok "the machine's leader is the pod's init (machinectl status), in namespaces of its own"

expect_status 0 F stop "$u"
[ -z "$(show "$unit" ActiveState 2>/dev/null | grep -v inactive)" ] || fail "$unit after stop: $(show "$unit" ActiveState)"
expect_status 0 F status "$u"
grep -qx "exited=true" "$T/out" || fail "status after stop: $(cat "$T/out")"
sd_no_ferry_units "after ferry stop"
in_sd machinectl show "ferry-$u" >/dev/null 2>&1 && fail "machine ferry-$u left after stop"
ok "ferry stop stops the unit: no unit, machine or cgroup left"

# prepare + start --unit=NAME --slice: the name and slice asked for; a failing app fails the
# unit with its exit code. The app exits once the start is done (a file in a host volume): an
# app that exited at once could end the pod before systemd had its READY=1, and the start job
# then failed (ferry start exited 254 in 2 of 5 runs).
mkdir -p "$T/go7"
expect_status 0 F prepare --volume "go,kind=host,source=$T/go7" "$BB" --mount volume=go,target=/go \
  --exec /bin/sh -- -c 'while [ ! -e /go/now ]; do sleep 0.05; done; exit 7'
u2=$(cat "$T/out")
expect_status 0 F start --unit=pod-seven --slice=ferry-test.slice "$u2"
grep -qx "unit=pod-seven.service" "$T/out" || fail "start: $(cat "$T/out")"
touch "$T/go7/now"
wait_for "the unit to fail" sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P ActiveState pod-seven.service)\" = failed ]"
[ "$(show pod-seven.service ExecMainStatus)" = 7 ] || fail "ExecMainStatus=$(show pod-seven.service ExecMainStatus)"
[ "$(show pod-seven.service Slice)" = ferry-test.slice ] || fail "Slice=$(show pod-seven.service Slice)"
expect_status 0 F status "$u2"
grep -qx "exit=7" "$T/out" && grep -qx "unit=pod-seven.service" "$T/out" || fail "status: $(cat "$T/out")"
ok "start --unit=NAME --slice: a failing app fails the unit with its exit code (7)"
in_sd systemctl reset-failed pod-seven.service
# The same app exiting at once: the pod ends right after the init made `ready`, and the run
# entrypoint still says READY=1 before it exits, so the start job ends "done" and the unit fails
# with the app's code. Before, its thread could die with it first: the start job failed (ferry
# start exited 254 in 4 of 18 such starts of main's code).
for i in 1 2 3 4 5; do
  expect_status 0 F prepare "$BB" --exec /bin/sh -- -c 'exit 7'
  u8=$(cat "$T/out")
  expect_status 0 F start --unit=pod-seven-now "$u8"
  wait_for "pod-seven-now to fail" sh -c "[ \"\$(nsenter -t $SD_LEADER -a systemctl show -P ActiveState pod-seven-now.service)\" = failed ]"
  [ "$(show pod-seven-now.service ExecMainStatus)" = 7 ] || fail "pod-seven-now: ExecMainStatus=$(show pod-seven-now.service ExecMainStatus)"
  in_sd systemctl reset-failed pod-seven-now.service
done
ok "start --unit of a pod whose app exits at once: the start succeeds (READY=1 before the main process ends), 5 times"
in_sd systemctl stop ferry-test.slice
sd_no_ferry_units "after a failed unit is reset"

# Usage: --user without --unit; --unit with the cgroupfs driver; start without --unit.
expect_status 2 F run --user "$BB"
expect_status 2 F run --unit --cgroup-driver=cgroupfs "$BB"
expect_status 2 F run --cgroup-driver=nope "$BB"
expect_status 0 F prepare "$BB"
expect_status 2 F start "$(cat "$T/out")"
ok "usage errors: --user without --unit, --unit with --cgroup-driver=cgroupfs, a bad driver, start without --unit"

# systemctl stop of the unit stops the pod the same way (KillMode=mixed: SIGTERM to ferry's stage1,
# which stops the apps with their stop signals).
expect_status 0 F run --unit "$BB" --exec /bin/sh -- -c 'trap "echo got-term; exit 0" TERM; echo up; while :; do sleep 0.1; done'
u3=$(sed -n 's/^uuid=//p' "$T/out")
wait_for "the pod to run" sh -c "grep -q up '$D/pods/run/$u3/logs/busybox.log' 2>/dev/null"
in_sd systemctl stop "ferry-$u3.service"
grep -q got-term "$D/pods/run/$u3/logs/busybox.log" || fail "the app did not get SIGTERM: $(cat "$D/pods/run/$u3/logs/busybox.log")"
expect_status 0 F status "$u3"
grep -qx "exit=0" "$T/out" || fail "status: $(cat "$T/out")"
sd_no_ferry_units "after systemctl stop"
ok "systemctl stop: the app gets its stop signal, the pod exits 0, nothing left"

# ferry run itself on a systemd host (the default driver there is systemd): the pod gets a scope
# ferry-<uuid>.scope of its own, with the pod's limits, registered with machined; --cgroup-driver=
# cgroupfs makes none. Run from a service of the test systemd, as a user's shell would.
in_sd systemd-run -q --unit=ferry-runner "$FERRY" --dir "$D" --insecure-options=image run \
  --uuid-file-save="$T/u4" --pod-pids-limit=40 "$BB" --exec /bin/sh -- -c 'echo up; exec sleep 1000'
wait_for "the pod to run" sh -c "[ -s '$T/u4' ] && grep -q up \"$D/pods/run/\$(cat '$T/u4')/logs/busybox.log\" 2>/dev/null"

u4=$(cat "$T/u4")
[ "$(show "ferry-$u4.scope" ActiveState)" = active ] || fail "no active ferry-$u4.scope"
[ "$(show "ferry-$u4.scope" TasksMax)" = 40 ] || fail "scope TasksMax=$(show "ferry-$u4.scope" TasksMax)"
[ "$(show "ferry-$u4.scope" Delegate)" = yes ] || fail "scope Delegate=$(show "ferry-$u4.scope" Delegate)"
in_sd machinectl show "ferry-$u4" -p Unit | grep -qx "Unit=ferry-$u4.scope" || fail "machine ferry-$u4 not in its scope"
expect_status 0 F status "$u4"
grep -qx "unit=ferry-$u4.scope" "$T/out" || fail "status: $(cat "$T/out")"
# (inside: the pod's pid file holds a pid of the test systemd's namespace, as does a stop)
expect_status 0 in_sd "$FERRY" --dir "$D" stop "$u4"
wait_for "the scope to end" sh -c "! nsenter -t $SD_LEADER -a systemctl -q is-active ferry-$u4.scope"
in_sd systemctl stop ferry-runner.service 2>/dev/null || true
in_sd systemctl reset-failed ferry-runner.service 2>/dev/null || true
sd_no_ferry_units "after a scoped pod"
ok "ferry run with the systemd driver: a scope with the pod's limits, a machine, nothing left after stop"

# nspawn under the systemd driver: one registration (systemd-nspawn's own would clash with it:
# --register=no), the pod's init as leader; machinectl terminate stops the pod, which ferry
# status then reads as exited; nothing left.
in_sd systemd-run -q --unit=ferry-runner3 "$FERRY" --dir "$D" --insecure-options=image run \
  --stage1-name=nspawn --uuid-file-save="$T/u6" "$BB" --exec /bin/sh -- -c 'echo up; exec sleep 1000'
wait_for "the nspawn pod to run" sh -c "[ -s '$T/u6' ] && grep -q up \"$D/pods/run/\$(cat '$T/u6')/logs/busybox.log\" 2>/dev/null"
u6=$(cat "$T/u6")
machine_leader_is_init "$u6" "nspawn"
in_sd machinectl terminate "ferry-$u6"
wait_for "the nspawn pod to exit" sh -c "'$FERRY' --dir '$D' status '$u6' | grep -qx exited=true"
# stopped, not killed: the scope's stop gives SIGTERM (a KillMode=mixed scope SIGKILLs at once)
expect_status 0 F status "$u6"
grep -qx "app-busybox=signal:SIGTERM" "$T/out" || fail "machinectl terminate: $(cat "$T/out")"
wait_for "the scope to end" sh -c "! nsenter -t $SD_LEADER -a systemctl -q is-active ferry-$u6.scope"
in_sd systemctl stop ferry-runner3.service 2>/dev/null || true
in_sd systemctl reset-failed ferry-runner3.service 2>/dev/null || true
in_sd machinectl show "ferry-$u6" >/dev/null 2>&1 && fail "machine ferry-$u6 left after terminate"
sd_no_ferry_units "after machinectl terminate"
ok "nspawn: the machine's leader is the pod's init; machinectl terminate stops the pod (its app by SIGTERM), nothing left"

# nspawn as a unit: ferry stop is the unit's stop, SIGTERM to its main process alone (the run
# entrypoint; KillMode=mixed), which stops the pod as ferry stop of any nspawn pod does: the app
# gets SIGTERM and the unit ends inactive. Before: run slept in waitpid with its signals blocked,
# the stop timed out and systemd SIGKILLed the pod (ActiveState=failed, Result=timeout).
expect_status 0 F run --unit --stage1-name=nspawn --stop-timeout=1s "$BB" --exec /bin/sh -- -c 'echo up; exec sleep 1000'
u7=$(sed -n 's/^uuid=//p' "$T/out")
unit7=$(sed -n 's/^unit=//p' "$T/out")
wait_for "the nspawn unit's pod to run" sh -c "grep -q up '$D/pods/run/$u7/logs/busybox.log' 2>/dev/null"
expect_status 0 F stop "$u7"
unit_stopped() { ! in_sd systemctl -q is-active "$unit7" && [ "$(show "$unit7" ActiveState)" != deactivating ]; }
wait_for "$unit7 to stop" unit_stopped
state7="$(show "$unit7" ActiveState) $(show "$unit7" Result)"
[ "$state7" = "inactive success" ] || {
  in_sd systemctl reset-failed "$unit7" 2>/dev/null || true
  fail "nspawn: $unit7 after ferry stop: ActiveState and Result '$state7', want 'inactive success'"
}
expect_status 0 F status "$u7"
grep -qx "app-busybox=signal:SIGTERM" "$T/out" || fail "nspawn: status after ferry stop: $(cat "$T/out")"
sd_no_ferry_units "after ferry stop of an nspawn unit"
ok "nspawn: ferry stop of a unit stops the pod with SIGTERM; the unit ends inactive (not failed, Result=success)"

in_sd systemd-run -q --wait --pipe --unit=ferry-runner2 "$FERRY" --dir "$D" --insecure-options=image \
  run --cgroup-driver=cgroupfs --uuid-file-save="$T/u5" "$BB" --exec /bin/sh -- -c "exit 0"
u5=$(cat "$T/u5")
in_sd systemctl list-units --all --no-legend 'ferry-*' | grep -q "$u5" && fail "a unit for a cgroupfs pod"
expect_status 0 F status "$u5"
grep -q '^unit=' "$T/out" && fail "a cgroupfs pod names a unit: $(cat "$T/out")"
sd_no_ferry_units "after a cgroupfs pod"
ok "--cgroup-driver=cgroupfs on a systemd host: no unit"

echo "PASS: $checks checks"
