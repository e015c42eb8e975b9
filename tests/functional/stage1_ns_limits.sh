#!/usr/bin/env bash
# cgroup limits of the ns stage1: a memory hog is OOM-killed and reported (oomKilled), a pids
# limit refuses forks, a pod-wide limit applies to the pod cgroup, unsupported limits are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"

# 64 MiB for the app; it tries to hold 256 MiB in a shell variable.
P=$T/hog
new_pod "$P" --app hog --tree "$T/tree" --resources '{"memory":{"limit":67108864}}' \
  --exec '["sh","-c","x=$(yes hogging | head -c 268435456); echo survived ${#x}"]' \
  --app calm --tree "$T/tree" --exec '["sh","-c","sleep 0.2"]'
set +e
run_pod "$P"
code=$?
set -e
[ "$code" -eq 137 ] || { cat "$P.err" "$P/logs/hog.log" >&2; fail "memory hog: pod exited $code, want 137"; }
expect_field "$P/status/hog.json" oomKilled true
expect_field "$P/status/hog.json" signal SIGKILL
expect_field "$P/status/calm.json" oomKilled false
! grep -q survived "$P/logs/hog.log" || fail "the hog survived its limit"
ok "memory hog OOM-killed and reported as such (oomKilled), its neighbour not"
expect_clean "$P" "OOM pod"

# pids.max = 8 for the app: a shell starting 20 background sleeps gets refused forks.
P=$T/forks
new_pod "$P" --app forker --tree "$T/tree" --resources '{"pids":{"limit":8}}' \
  --exec '["sh","-c","n=0; for i in $(seq 1 20); do sleep 2 & done; echo forked; wait"]'
set +e
run_pod "$P"
set -e
grep -qi "can't fork\|resource temporarily unavailable" "$P/logs/forker.log" ||
  { cat "$P/logs/forker.log" "$P.err" >&2; fail "no fork was refused under pids.max=8"; }
ok "pids limit refuses forks"
expect_clean "$P" "pids-limited pod"

# Limits land in the cgroup files: the pod-wide ones on the pod cgroup, the app's on its own.
P=$T/files
new_pod "$P" --pod-resources '{"memory":{"limit":536870912},"pids":{"limit":100}}' \
  --app a --tree "$T/tree" --resources '{"memory":{"limit":134217728,"reservation":33554432},"cpu":{"shares":256,"quota":20000,"period":100000}}' \
  --exec '["sh","-c","echo up; sleep 100"]'
start_pod "$P"
wait_line "$P/logs/a.log" up
mem=$(pod_cgroups "$P" | grep /memory/)
pids=$(pod_cgroups "$P" | grep /pids/)
cpu=$(pod_cgroups "$P" | grep '/cpu/' || true)
[ "$(cat "$mem/memory.limit_in_bytes")" = 536870912 ] || fail "pod memory limit: $(cat "$mem/memory.limit_in_bytes")"
[ "$(cat "$pids/pids.max")" = 100 ] || fail "pod pids limit: $(cat "$pids/pids.max")"
[ "$(cat "$mem/app-a/memory.limit_in_bytes")" = 134217728 ] || fail "app memory limit"
[ "$(cat "$mem/app-a/memory.soft_limit_in_bytes")" = 33554432 ] || fail "app memory reservation"
if [ -n "$cpu" ]; then
  [ "$(cat "$cpu/app-a/cpu.shares")" = 256 ] || fail "app cpu shares"
  [ "$(cat "$cpu/app-a/cpu.cfs_quota_us")" = 20000 ] || fail "app cpu quota"
fi
# The init sits in its own leaf, the app in its cgroup.
init=$(cat "$P/pid")
grep -qx "$init" "$mem/init/cgroup.procs" || fail "the pod init is not in the init cgroup"
grep -q . "$mem/app-a/cgroup.procs" || fail "no process in the app's cgroup"
ok "pod and app limits written to the v1 files; init and app in their own cgroups"
# No cgroup in a v1 cpuset hierarchy of its own (ferry sets no cpuset limit; the host's first
# cpuset cgroup costs the kernel two static-key patches): the pod stays in the caller's cpuset.
if grep -q '^[0-9]*:cpuset:' /proc/self/cgroup; then
  dirs=$(pod_cgroups "$P")
  ! grep -q '/cpuset/' <<<"$dirs" || fail "the pod has a cpuset cgroup: $dirs"
  [ "$(grep ':cpuset:' "/proc/$init/cgroup")" = "$(grep ':cpuset:' /proc/self/cgroup)" ] ||
    fail "the pod init is in cpuset $(grep ':cpuset:' "/proc/$init/cgroup"), not the caller's"
  ok "no cpuset cgroup for the pod: its init is in the caller's cpuset"
fi
(cd "$P" && "$STAGE1_NS/bin/stop" --uuid "$(pod_uuid "$P")")
set +e
wait "$POD_PID"
set -e
expect_clean "$P" "limited pod"

# A limit the stage1 cannot apply is refused before anything is created: blkio weights, and
# cpuset limits (linux.resources.cpu.cpus, .mems: the pod has no cpuset cgroup to hold them).
refused_limit() { # NAME RESOURCES FIELD WHAT
  P=$T/$1
  new_pod "$P" --app a --tree "$T/tree" --resources "$2" --exec '["true"]'
  expect_status 254 run_pod "$P"
  grep -q "linux.resources.$3: not supported" "$P.err" || fail "error: $(cat "$P.err")"
  [ ! -e "$P/pid" ] || fail "a pod started despite $4"
  ok "$4 refused: $(cat "$P.err")"
}
refused_limit unsupported '{"blockIO":{"weight":10}}' blockIO "an unsupported limit"
refused_limit cpus '{"cpu":{"cpus":"0"}}' cpu.cpus "a cpuset limit"
