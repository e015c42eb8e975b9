#!/usr/bin/env bash
# The guest half of systemd_v2_vm.sh: runs inside tests/vm/run-in-vm, a pure cgroup v2 host
# (cgroup2 alone on /sys/fs/cgroup, cpu, memory and pids enabled at the root), where the test
# systemd of systemd_lib.sh (systemd-nspawn --boot of the host's /usr) gets a delegated v2
# subtree with those controllers, which this machine's hybrid cgroups cannot give it. A pod
# started as a unit (run --unit with limits): the unit has MemoryMax/TasksMax/CPUQuota and systemd
# wrote them into its cgroup; the pod's cgroups are below the unit's (the stage1 in its leaf
# `supervisor`), with the pod's limits; after ferry stop no unit and no cgroup is left.
# Debian's tools first: a shim (pyenv's python3 is a chain of shell scripts) costs seconds a call
# under TCG.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
ok() { # with the guest's running time: TCG makes every step slow, some very
  checks=$((checks + 1))
  echo "ok $checks - $* [${SECONDS}s]"
}
[ "$(cat /proc/self/cgroup)" = "0::/" ] || fail "not in the v2 root cgroup: $(cat /proc/self/cgroup)"
! grep -q ' - cgroup ' /proc/self/mountinfo || fail "a cgroup v1 hierarchy is mounted"
sd_test_setup
sd_minimal
SD_ROOT=(-r)  # (run-in-vm chroots: nspawn ran there)
SD_BOOT_TIMEOUT=120
sd_boot
ok "the test systemd booted (pure cgroup v2; the bus and machined only)"
for c in cpu memory pids; do
  in_sd grep -qw "$c" /sys/fs/cgroup/cgroup.controllers ||
    fail "the test systemd has no $c controller: $(in_sd cat /sys/fs/cgroup/cgroup.controllers)"
done
ok "the test systemd's cgroup has cpu, memory and pids"

show() { in_sd systemctl show -P "$2" "$1"; }
expect_status 0 F run --unit --pod-memory=64M --pod-cpu=500m --pod-pids-limit=50 "$BB" \
  --exec /bin/sh -- -c 'echo up; exec sleep 1000'
u=$(sed -n 's/^uuid=//p' "$T/out")
unit=$(sed -n 's/^unit=//p' "$T/out")
[ "$unit" = "ferry-$u.service" ] || fail "run --unit printed: $(cat "$T/out")"
[ "$(show "$unit" ActiveState)" = active ] || fail "$unit is $(show "$unit" ActiveState)"
[ "$(show "$unit" MemoryMax)" = 64000000 ] || fail "MemoryMax=$(show "$unit" MemoryMax)"
[ "$(show "$unit" TasksMax)" = 50 ] || fail "TasksMax=$(show "$unit" TasksMax)"
[ "$(show "$unit" CPUQuotaPerSecUSec)" = 500ms ] || fail "CPUQuotaPerSecUSec=$(show "$unit" CPUQuotaPerSecUSec)"
cg=$(show "$unit" ControlGroup)
ucg=/sys/fs/cgroup$cg  # in the test systemd's cgroup namespace and mount
file_is() { # FILE WANT
  local got
  got=$(in_sd cat "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}
file_is "$ucg/memory.max" 64000000
file_is "$ucg/pids.max" 50
file_is "$ucg/cpu.max" "50000 100000"
ok "the unit: MemoryMax, TasksMax and CPUQuota from the pod's limits, in its cgroup's memory.max, pids.max, cpu.max"

wait_for "the pod to run" sh -c "grep -q up '$D/pods/run/$u/logs/busybox.log' 2>/dev/null"
pid=$(cat "$D/pods/run/$u/pid")
in_sd cat "/proc/$pid/cgroup" >"$T/init.cg"
grep -q "^0::$cg/ferry-$u/" "$T/init.cg" || fail "the pod init is not below $cg/ferry-$u: $(cat "$T/init.cg")"
runner=$(show "$unit" MainPID)
[ "$(in_sd cat "/proc/$runner/cgroup")" = "0::$cg/supervisor" ] ||
  fail "the unit's main process (the stage1) is in $(in_sd cat "/proc/$runner/cgroup"), not $cg/supervisor"
file_is "$ucg/ferry-$u/memory.max" 64000000
file_is "$ucg/ferry-$u/pids.max" 50
file_is "$ucg/ferry-$u/cpu.max" "50000 100000"
in_sd machinectl show "ferry-$u" -p Unit | grep -qx "Unit=$unit" || fail "machined does not know ferry-$u in $unit"
ok "the pod's cgroups are below the unit's ($cg/ferry-$u, the stage1 in $cg/supervisor), with the pod's limits"

expect_status 0 F stop "$u"
[ -z "$(show "$unit" ActiveState 2>/dev/null | grep -v inactive)" ] || fail "$unit after stop: $(show "$unit" ActiveState)"
in_sd test ! -e "$ucg" || fail "$ucg is left after stop: $(in_sd find "$ucg")"
sd_no_ferry_units "after ferry stop"
ok "ferry stop: no unit, no cgroup of the unit or the pod left"
echo "PASS: $checks checks"
