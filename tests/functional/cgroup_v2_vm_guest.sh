#!/usr/bin/env bash
# The guest half of cgroup_v2_vm.sh: runs inside tests/vm/run-in-vm, on a pure cgroup v2 host
# (cgroup2 alone on /sys/fs/cgroup, cpu, memory and pids enabled at the root). Pods of the ns
# stage1 get their memory, cpu and pids limits, for the pod and for each app, from the root
# cgroup and from a session-like cgroup that holds processes; an OOM kill is reported; nothing
# is left behind.
# Debian's tools first: a shim (pyenv's python3 is a chain of shell scripts) costs seconds a call
# under TCG.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"
CG=/sys/fs/cgroup
ok() { # with the guest's running time: TCG makes every step slow, some very
  checks=$((checks + 1))
  echo "ok $checks - $* [${SECONDS}s]"
}
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }
BB=$FIXTURES/bb.aci

# --- the guest is what it should be: one cgroup2 mount, every limit controller at the root
[ "$(cat /proc/self/cgroup)" = "0::/" ] || fail "not in the v2 root cgroup: $(cat /proc/self/cgroup)"
! grep -q ' - cgroup ' /proc/self/mountinfo || fail "a cgroup v1 hierarchy is mounted"
for c in cpu memory pids; do
  grep -qw "$c" $CG/cgroup.subtree_control || fail "$c is not enabled at the root"
done
ok "pure cgroup v2 host: cgroup2 alone on $CG, cpu memory pids at the root"

# The cgroup unit tests, which skip what the host lacks, run here with nothing to skip.
if [ -n "${CGROUP_TEST:-}" ]; then
  "$CGROUP_TEST" --gtest_brief=1 >"$T/gtest.out" 2>&1 || { cat "$T/gtest.out" >&2; fail "cgroup_test"; }
  ! grep -q SKIPPED "$T/gtest.out" || { cat "$T/gtest.out" >&2; fail "cgroup_test skipped tests"; }
  ok "cgroup_test: $(grep -o '[0-9]* tests\? from [0-9]* test suites\? ran' "$T/gtest.out" | head -1), none skipped"
fi

expect_status 0 F fetch "$BB"
bbid=$(cat "$T/out")

# pod_cg UUID: the pod's cgroup directory (cgroups.json has just the one hierarchy here).
pod_cg() {
  local f=$D/pods/run/$1/cgroups.json
  [ "$(jq length "$f")" = 1 ] || fail "cgroups.json of a pure v2 host: $(cat "$f")"
  jq -r '.[]' "$f"
}
file_is() { # FILE WANT
  [ "$(cat "$1")" = "$2" ] || fail "$1 is '$(cat "$1")', want '$2'"
}

# limits_pod LABEL: starts a pod with app and pod limits (--pod-manifest: the pod's isolators and
# the app's), checks the files of the app's cgroup (as the app sees it in /proc/self/cgroup) and
# of the pod's, stops the pod; POD_CG is the pod's cgroup.
limits_pod() {
  local label=$1 u i
  cat >"$T/pm.json" <<EOF
{"acKind":"PodManifest","acVersion":"0.8.11",
 "isolators":[{"name":"resource/memory","value":{"limit":"256Mi"}},
              {"name":"resource/cpu","value":{"limit":"1500m"}}],
 "apps":[{"name":"lim","image":{"id":"$bbid"},
  "app":{"exec":["/bin/sh","-c","cat /proc/self/cgroup; echo up; exec sleep 100"],
   "user":"0","group":"0",
   "isolators":[{"name":"resource/memory","value":{"limit":"64Mi","request":"16Mi"}},
                {"name":"resource/cpu","value":{"limit":"500m"}}]},
  "annotations":[{"name":"dev.ferry.pids-limit","value":"8"}]}]}
EOF
  rm -f "$T/u.lim"
  F run --uuid-file-save="$T/u.lim" --pod-manifest="$T/pm.json" --pod-pids-limit 100 \
    >"$T/lim.out" 2>"$T/lim.err" &
  local run=$!
  for i in $(seq 1 600); do
    grep -qx up "$T/lim.out" && break
    kill -0 "$run" 2>/dev/null || { cat "$T/lim.out" "$T/lim.err" >&2; fail "$label: the pod ended early"; }
    sleep 0.05
  done
  grep -qx up "$T/lim.out" || fail "$label: the app never came up"
  u=$(cat "$T/u.lim")
  POD_CG=$(pod_cg "$u")
  # The app's cgroup namespace is rooted at its own cgroup (it sees '/'); the host finds the app
  # (sleep) in the pod's app-lim.
  local own=/app-lim seen p in_app=
  seen=$(sed -n 's/^0:://p' "$T/lim.out")
  [ "$seen" = / ] || fail "$label: the app's /proc/self/cgroup says '$seen', want / (its own namespace)"
  for p in $(cat "$POD_CG$own/cgroup.procs"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && in_app=yes
  done
  [ -n "$in_app" ] || fail "$label: the app is not in $POD_CG$own"
  file_is "$POD_CG$own/memory.max" 67108864
  file_is "$POD_CG$own/memory.low" 16777216
  file_is "$POD_CG$own/cpu.max" "50000 100000"
  file_is "$POD_CG$own/pids.max" 8
  file_is "$POD_CG/memory.max" 268435456
  file_is "$POD_CG/cpu.max" "150000 100000"
  file_is "$POD_CG/pids.max" 100
  grep -qx "$(cat "$D/pods/run/$u/pid")" "$POD_CG/init/cgroup.procs" ||
    fail "$label: the pod init is not in $POD_CG/init"
  # enter joins the app's cgroup and its cgroup namespace (from the root cgroup namespace): it
  # sees '/', and the host finds its process (a second sleep) in the pod's app-lim.
  F enter "$u" /bin/sh -c 'cat /proc/self/cgroup; exec sleep 30' >"$T/enter.out" 2>&1 &
  local enter=$! n=0
  for i in $(seq 1 200); do
    n=0
    for p in $(cat "$POD_CG$own/cgroup.procs"); do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && n=$((n + 1))
    done
    [ "$n" -ge 2 ] && break
    sleep 0.05
  done
  kill "$enter" 2>/dev/null || true
  wait "$enter" 2>/dev/null || true
  [ "$n" -ge 2 ] || fail "$label: the process enter ran is not in $POD_CG$own"
  [ "$(head -1 "$T/enter.out")" = "0::/" ] ||
    fail "$label: enter ran in cgroup '$(cat "$T/enter.out")', want / (the app's namespace)"
  # and the pod's device program with it
  expect_status 0 F enter "$u" /bin/busybox sh -c "busybox mknod /dev/x b 7 0 2>&1; exit 0"
  grep -q "Operation not permitted" "$T/out" || fail "$label: enter could mknod b 7:0: $(cat "$T/out")"
  expect_status 0 F stop "$u"
  set +e
  wait "$run"
  local rc=$?
  set -e
  [ "$rc" -eq 143 ] || fail "$label: the stopped pod exited $rc"
  [ ! -e "$POD_CG" ] || fail "$label: $POD_CG left after the pod"
  ok "$label: app limits in its cgroup ($own: memory.max, memory.low, cpu.max, pids.max), pod limits in $POD_CG (--pod-pids-limit too); enter joins $own, held to the device rules"
}

oom_pod() { # LABEL
  expect_status 137 F run --uuid-file-save="$T/u-oom" "$BB" --memory 32M --exec /bin/busybox -- \
    dd if=/dev/zero of=/dev/null bs=100M count=1
  expect_status 0 F status "$(cat "$T/u-oom")"
  grep -qx 'app-busybox=signal:SIGKILL' "$T/out" && grep -qx 'app-busybox-oom=true' "$T/out" ||
    fail "$1: OOM status: $(cat "$T/out")"
  ok "$1: a memory hog over --memory is OOM-killed (137) and status reports oom"
}

# --- devices: on cgroup v2 the pod's allowlist is a device program on its cgroup (v2 has no
# other interface). The pod, root with CAP_MKNOD, makes no node for the host's loop0 and opens
# none that the host made for it (in a volume); /dev/null works.
mkdir -p "$T/hostdev"
mknod "$T/hostdev/loop0" b 7 0
expect_status 0 F run "$BB" --volume "hostdev,kind=host,source=$T/hostdev" \
  --mount volume=hostdev,target=/hostdev --exec /bin/busybox -- sh -c \
  'busybox mknod /dev/x b 7 0 2>&1; busybox dd if=/hostdev/loop0 of=/dev/null count=1 2>&1; echo hi >/dev/null && echo null-ok; exit 0'
grep -q "mknod.*Operation not permitted" "$T/out" || fail "mknod b 7:0 was not refused: $(cat "$T/out")"
grep -q "loop0.*Operation not permitted" "$T/out" || fail "the host's loop0 node was opened: $(cat "$T/out")"
grep -qx null-ok "$T/out" || fail "/dev/null does not work: $(cat "$T/out")"
ok "devices: mknod b 7:0 and opening a host loop0 node refused (EPERM) by the pod's device program; /dev/null works"

# --- from the root cgroup
limits_pod "from the root cgroup"
[ "$(dirname "$POD_CG")" = $CG ] || fail "the pod's cgroup $POD_CG is not under the caller's ($CG)"
oom_pod "from the root cgroup"

# --- pids, the stage1 alone: it takes OCI linux.resources.pids from config.json and
# runtime.json's podResources (stage1/ABI.md), for an app and for the pod; forks over it fail.
# A small tree: lib_ns.sh's make_tree forks ln 400 times, a minute under TCG.
mkdir -p "$T/tree/bin" "$T/tree/etc" "$T/tree/tmp"
cp /bin/busybox "$T/tree/bin/busybox"
for a in sh cat sleep; do ln -s busybox "$T/tree/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$T/tree/etc/passwd"
echo 'root:x:0:' >"$T/tree/etc/group"
P=$T/forks
new_pod "$P" --pod-resources '{"pids":{"limit":100}}' \
  --app forker --tree "$T/tree" --resources '{"pids":{"limit":8}}' \
  --exec '["sh","-c","cat /proc/self/cgroup; (for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait); echo up; exec sleep 100"]'
start_pod "$P"
# (lib_ns.sh's wait_line counts polls, each far slower under TCG)
end=$((SECONDS + 60))
until grep -qx up "$P/logs/forker.log" 2>/dev/null; do
  [ "$SECONDS" -lt "$end" ] && kill -0 "$POD_PID" 2>/dev/null ||
    { cat "$P.err" "$P/logs/forker.log" >&2; fail "the forker never said up"; }
  sleep 0.1
done
pcg=$(pod_cgroups "$P")
file_is "$pcg/pids.max" 100
file_is "$pcg/app-forker/pids.max" 8
grep -qx '0::/app-forker' "$P/logs/forker.log" || fail "forker's cgroup: $(cat "$P/logs/forker.log")"
grep -qi "can't fork\|resource temporarily unavailable" "$P/logs/forker.log" ||
  { cat "$P/logs/forker.log" "$P.err" >&2; fail "no fork was refused under pids.max=8"; }
kill -TERM "$POD_PID"
wait "$POD_PID" || true
ok "pids: pids.max of the pod (100) and of the app (8) written; forks over it refused"
expect_clean "$P" "pids-limited pod"

# --- from a cgroup that holds processes, like a login session's scope: v2 lets it give no
# controller to a child, so the pod goes beside it, with every limit.
mkdir $CG/session.scope
sleep 1000 &
holder=$!
echo "$holder" >$CG/session.scope/cgroup.procs
echo $$ >$CG/session.scope/cgroup.procs
leave_session() {
  echo $$ >$CG/cgroup.procs
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  rmdir $CG/session.scope
}
[ "$(cat /proc/self/cgroup)" = "0::/session.scope" ] || fail "the test did not move into session.scope"
limits_pod "from a populated session.scope"
[ "$(dirname "$POD_CG")" = $CG ] || fail "the pod's cgroup $POD_CG is not beside session.scope"
oom_pod "from a populated session.scope"
# Where no cgroup can pass the controllers on (a container's view: a cgroup namespace rooted at
# the populated session.scope, cgroup2 mounted there), a limit fails in one line naming the
# cgroup and the controller; nothing is left.
set +e
unshare -m -C --propagation private sh -c 'umount /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh \
  "$FERRY" --dir "$D" --insecure-options=image run "$BB" --memory 64M --exec /bin/true >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a pod whose memory limit has no controller ran"
grep -q 'cannot apply a memory limit to cgroup "/sys/fs/cgroup/ferry-[^"]*/app-busybox": "/sys/fs/cgroup" does not enable the memory controller for its children' "$T/err" ||
  fail "no clear line for the missing controller: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
ok "no cgroup can delegate memory: '$(cut -c1-60 "$T/err")…' (exit $rc)"
grep -qx "$holder" $CG/session.scope/cgroup.procs || fail "ferry moved the session's other process"
[ -z "$(ls -d $CG/session.scope/*/ 2>/dev/null)" ] || fail "cgroups left in session.scope: $(ls $CG/session.scope)"
[ -z "$(cat $CG/session.scope/cgroup.subtree_control)" ] ||
  fail "ferry enabled controllers in the session's cgroup: $(cat $CG/session.scope/cgroup.subtree_control)"
leave_session
ok "the session's cgroup keeps its processes, gets no child and no controller"

# --- nothing left: no ferry cgroup anywhere, no mount under the data directory
expect_status 0 F gc --grace-period=0s
left=$(find $CG -mindepth 1 -type d -name 'ferry-*')
[ -z "$left" ] || fail "cgroups left: $left"
if grep -F " $T/" /proc/self/mountinfo >"$T/mounts.left"; then
  cat "$T/mounts.left" >&2
  fail "mounts left under $T"
fi
ok "no ferry cgroup and no mount left in the guest"
echo "cgroup_v2_vm (guest): $checks checks passed"
