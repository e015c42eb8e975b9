#!/usr/bin/env bash
# `ferry run` on the default stage1 (ns, found beside the ferry binary): exit statuses, an ACI
# and an OCI app side by side sharing an empty volume, stop, and gc/rm after kill -9 of the
# stage1 leaving no mount and no cgroup.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
S1=()  # the default stage1: found beside the ferry binary

expect_status 0 F run "${S1[@]}" "$BB"
grep -qx hi "$T/out" || fail "run printed: $(cat "$T/out") / $(cat "$T/err")"
expect_status 9 F run "${S1[@]}" "$BB" --exec /bin/sh -- -c 'exit 9'
ok "ns stage1: output and exit status (9)"
if applies_on_stage1 fly "its pods are in the host's PID namespace: PID 1 is the host's"; then
  expect_status 0 F run "$BB" --exec /bin/busybox -- cat /proc/1/cmdline
  [ "$(tr '\0' ' ' <"$T/out")" = "ferry-init " ] || fail "the pod's PID 1 shows: $(tr '\0' ' ' <"$T/out")"
  ok "the pod's PID 1 is ferry-init; its command line names no host path"
fi
if [ "${FERRY_STAGE1:-ns}" = fly ]; then
  # fly execs no pod init: the child of its run entrypoint runs the init's loop itself, so the
  # app's parent is that process (its name is the entrypoint's, "run"), in the pod's init cgroup.
  expect_status 0 F run "$BB" --exec /bin/sh -- -c 'cat /proc/$PPID/comm'
  [ "$(cat "$T/out")" = run ] || fail "fly: the app's parent is $(cat "$T/out"), not run's child"
  ok "fly: the app's parent is run's own child (no ferry-init exec)"
fi
if command -v setpriv >/dev/null; then
  mkdir -m 0777 "$T/nobody"
  expect_status 254 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$FERRY" --dir "$T/nobody/data" --insecure-options=image run "$BB"
  [ "$(cat "$T/err")" = "ferry: not supported: stage1 \"${FERRY_STAGE1:-ns}\" runs pods as root only (ferry runs as uid 65534)" ] ||
    fail "run as uid 65534: $(cat "$T/err")"
  [ ! -e "$T/nobody/data/pods" ] || fail "a refused non-root run left $(find "$T/nobody/data")"
  ok "run as a non-root user: 254 and one line before anything is written"
fi

# --ipc (rkt's): an IPC namespace of the pod's own, or the host's with parent; what a flavor
# cannot do is refused in one line before a pod exists (its descriptor's features.ipc).
flavor=${FERRY_STAGE1:-ns}
host_ipc=$(readlink /proc/self/ns/ipc)
ipc_of() { # [--ipc=MODE]: the IPC namespace an app sees
  expect_status 0 F run "$@" "$BB" --exec /bin/busybox -- readlink /proc/self/ns/ipc
  grep -qx 'ipc:\[[0-9]*\]' "$T/out" || fail "readlink /proc/self/ns/ipc $*: $(cat "$T/out" "$T/err")"
  cat "$T/out"
}
ipc_refused() { # MODE OFFERED
  local n
  n=$(find "$D/pods" -mindepth 2 -maxdepth 2 2>/dev/null | wc -l)
  expect_status 254 F run --ipc="$1" "$BB"
  [ "$(cat "$T/err")" = "ferry: not supported: stage1 \"$flavor\" does not offer --ipc=$1 (it offers $2): $3" ] ||
    fail "--ipc=$1 on $flavor: $(cat "$T/err")"
  [ "$(find "$D/pods" -mindepth 2 -maxdepth 2 2>/dev/null | wc -l)" -eq "$n" ] || fail "--ipc=$1 refused left a pod"
}
case $flavor in
  ns)
    [ "$(ipc_of)" != "$host_ipc" ] && [ "$(ipc_of --ipc=private)" != "$host_ipc" ] ||
      fail "a pod (--ipc=auto, private) shares the host's IPC namespace"
    [ "$(ipc_of --ipc=parent)" = "$host_ipc" ] || fail "--ipc=parent: $(cat "$T/out"), the host's is $host_ipc"
    expect_status 254 F run --ipc=parent "$BB" --sysctl kernel.shmmax=1000000
    grep -q 'cannot set sysctl kernel.shmmax with --ipc=parent' "$T/err" || fail "an IPC sysctl with --ipc=parent: $(cat "$T/err")"
    expect_status 254 F run --ipc=parent --private-users "$BB"
    grep -qx 'ferry: not supported: --private-users with --ipc=parent' "$T/err" || fail "--private-users --ipc=parent: $(cat "$T/err")"
    ok "--ipc: the app's IPC namespace is its pod's (auto, private) or the host's (parent); IPC sysctls and --private-users refused with parent" ;;
  nspawn)
    [ "$(ipc_of --ipc=private)" != "$host_ipc" ] || fail "--ipc=private on nspawn shares the host's"
    ipc_refused parent --ipc=private "systemd-nspawn always gives its container an IPC namespace of its own"
    ok "--ipc=private on nspawn: an IPC namespace of the pod's; parent refused in one line, no pod" ;;
  fly)
    [ "$(ipc_of)" = "$host_ipc" ] && [ "$(ipc_of --ipc=parent)" = "$host_ipc" ] ||
      fail "a fly pod's IPC namespace is not the host's: $(cat "$T/out")"
    ipc_refused private --ipc=parent "a pod of fly shares the host's IPC namespace"
    ok "--ipc=parent (and auto) on fly: the host's IPC namespace; private refused in one line, no pod" ;;
esac
expect_status 2 F run --ipc=shared "$BB"
grep -qx 'ferry: --ipc: want auto, private or parent, not "shared"' "$T/err" || fail "--ipc=shared: $(cat "$T/err")"

# What config.json asks, ferry-stage2 applies: capabilities (the appc 14 by default), a remove
# set, a seccomp remove set with its errno, a read-only rootfs, user and group.
capbnd() { sed -n 's/^CapBnd:[[:space:]]*//p' "$T/out"; }
mask14=$(printf '%016x' $(( (1<<29)|(1<<0)|(1<<1)|(1<<4)|(1<<3)|(1<<5)|(1<<27)|(1<<13)|(1<<10)|(1<<7)|(1<<6)|(1<<8)|(1<<31)|(1<<18) )))
expect_status 0 F run "$BB" --exec /bin/busybox -- cat /proc/self/status
[ "$(capbnd)" = "$mask14" ] || fail "default CapBnd $(capbnd), want $mask14"
expect_status 0 F run "$BB" --caps-remove=CAP_NET_RAW --exec /bin/busybox -- cat /proc/self/status
[ "$(capbnd)" = "$(printf '%016x' $(( 0x$mask14 & ~(1<<13) )))" ] || fail "CapBnd with NET_RAW removed: $(capbnd)"
ok "capabilities: the appc default set; a removed one is absent from /proc/self/status"
expect_status 1 F run "$BB" --seccomp mode=remove,errno=ENOTSUP,mkdir --exec /bin/busybox -- mkdir /tmp/x
grep -qi 'not supported' "$T/out" "$T/err" || fail "seccomp errno: $(cat "$T/out" "$T/err")"
expect_status 1 F run "$BB" --readonly-rootfs --exec /bin/busybox -- touch /x
grep -qi 'read-only' "$T/out" "$T/err" || fail "read-only rootfs: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$BB" --user 1000 --group 1001 --exec /bin/sh -- -c '/bin/busybox id -u; /bin/busybox id -g'
[ "$(tr '\n' ' ' <"$T/out")" = "1000 1001 " ] || fail "user/group: $(cat "$T/out")"
ok "seccomp remove set with errno, read-only rootfs, user and group"

if applies_on_stage1 fly "two apps in one pod (fly runs one)"; then
  # An ACI app and an OCI app share one empty volume.
  expect_status 0 F run --uuid-file-save="$T/u1" --volume shared,kind=empty,mode=0777 \
    "$BB" --name writer --mount volume=shared,target=/shared --exec /bin/sh -- -c 'echo from-aci > /shared/a' \
    --- "$OCI" --name reader --mount volume=shared,target=/shared -- -c 'echo from-oci > /shared/b'
  u1=$(cat "$T/u1")
  v=$D/pods/run/$u1/volumes/shared
  [ "$(cat "$v/a")" = from-aci ] && [ "$(cat "$v/b")" = from-oci ] || fail "shared volume: $(ls -la "$v")"
  expect_status 0 F status "$u1"
  grep -qx 'exit=0' "$T/out" || fail "status: $(cat "$T/out")"
  ok "an ACI app and an OCI app in one pod"
fi

# The app's root is a volatile overlay (its end does not sync the host's file system); what the
# app wrote there outlives the pod in upper/ until gc, and status has the exit code at once.
expect_status 7 F run --uuid-file-save="$T/uv" "$BB" --exec /bin/sh -- -c \
  'echo kept >/written; grep " / / " /proc/self/mountinfo; exit 7'
uv=$(cat "$T/uv")
if [ "$(printf '%s\n' 5.10 "$(uname -r)" | sort -V | head -1)" = 5.10 ] &&
  applies_on_stage1 kvm "the app's root in the guest is the share (virtiofs), the overlay under it the host's"; then
  grep -Eq ' - overlay overlay .*,(fsync=)?volatile' "$T/out" || fail "the app's root: $(cat "$T/out")"
fi
[ "$(cat "$D/pods/"*/"$uv"/apps/*/upper/written)" = kept ] ||
  fail "the app's write is not in its upper directory: $(ls -R "$D/pods/"*"/$uv/apps" 2>&1 | head -20)"
expect_status 0 F status "$uv"
grep -qx 'state=exited' "$T/out" && grep -qx 'exit=7' "$T/out" || fail "status right after run: $(cat "$T/out")"
ok "the app's root: a volatile overlay; its writes stay in upper/; status has exited and 7"

# stop; then kill -9 of the stage1 of another pod: gc and rm leave no mount, no cgroup.
F run "${S1[@]}" --uuid-file-save="$T/u2" "$BB" --exec /bin/sh -- -c 'echo up; exec /bin/busybox sleep 1000' \
  >"$T/u2.out" 2>&1 &
p2=$!
bg+=($p2)
wait_for "pod 2 to be up" grep -qx up "$T/u2.out"
u2=$(cat "$T/u2")
expect_status 0 F stop "$u2"
expect_status 0 F status --wait "$u2"
grep -qx 'state=exited' "$T/out" || fail "after stop: $(cat "$T/out")"
set +e
wait "$p2"
rc=$?
set -e
[ "$rc" -eq 143 ] || fail "ferry run of a stopped pod exited $rc, want 143"
ok "stop: the pod exits 143"

F run "${S1[@]}" --uuid-file-save="$T/u3" "$BB" --exec /bin/sh -- -c 'echo up; exec /bin/busybox sleep 1000' \
  >"$T/u3.out" 2>&1 &
p3=$!
bg+=($p3)
wait_for "pod 3 to be up" grep -qx up "$T/u3.out"
u3=$(cat "$T/u3")
P3=$D/pods/run/$u3
echo '{}' >"$T/cgroups3.json"
if applies_on_stage1 kvm "the pod's cgroups are the guest's (no cgroups.json on the host)"; then
  cp "$P3/cgroups.json" "$T/cgroups3.json"
fi
# kill -9 of the stage1 run process (the parent of the pod's PID 1)
run3=$(ps -o ppid= -p "$(cat "$P3/pid")" | tr -d ' ')
[ -n "$run3" ] && [ "$run3" -gt 1 ] || fail "no stage1 run process for pod 3"
kill -KILL "$run3"
wait "$p3" 2>/dev/null || true
wait_for "pod 3 to be exited" sh -c "$FERRY --dir $D status $u3 | grep -qx state=exited"
expect_status 0 F rm "$u3"
no_mounts_under "$P3" "rm after kill -9"
[ ! -e "$P3" ] || fail "rm left $P3"
for cg in $(jq -r '.[]' "$T/cgroups3.json"); do [ ! -e "$cg" ] || fail "cgroup $cg left"; done
ok "rm after kill -9 of the stage1: no mount, no cgroup, no directory"

# A memory hog over --memory is OOM-killed, and status says so.
expect_status 137 F run --uuid-file-save="$T/u-oom" "$BB" --memory 32M --exec /bin/busybox -- \
  dd if=/dev/zero of=/dev/null bs=100M count=1
expect_status 0 F status "$(cat "$T/u-oom")"
grep -qx 'app-busybox=signal:SIGKILL' "$T/out" && grep -qx 'app-busybox-oom=true' "$T/out" ||
  fail "OOM status: $(cat "$T/out")"
ok "--memory: a memory hog is OOM-killed (137) and status reports oom"

if applies_on_stage1 fly "a pod of two apps (fly runs one)"; then
  # pids limits: --pids-limit per app, --pod-pids-limit/--pod-memory/--pod-cpu for the pod's cgroup;
  # the pod manifest records them (annotations dev.ferry.pids-limit, pod isolators).
  expect_status 0 F run "$BB" --exec /bin/sh -- -c \
    '/bin/busybox sleep 1 & /bin/busybox sleep 1 & /bin/busybox sleep 1 & wait; echo all-forked'
  grep -q all-forked "$T/out" || fail "forks failed without a limit: $(cat "$T/out" "$T/err")"
  expect_status 2 F run "$BB" --pids-limit 3 --exec /bin/sh -- -c \
    '/bin/busybox sleep 1 & /bin/busybox sleep 1 & /bin/busybox sleep 1 & wait; echo all-forked'
  grep -q "can't fork" "$T/out" "$T/err" || fail "--pids-limit 3: no fork failed: $(cat "$T/out" "$T/err")"
  grep -q all-forked "$T/out" && fail "--pids-limit 3: a fourth task started"
  F run --uuid-file-save="$T/u-pids" --pod-pids-limit 40 --pod-memory 200M --pod-cpu 1500m \
    "$BB" --pids-limit 5 --exec /bin/sh -- -c 'echo up; exec /bin/busybox sleep 1000' \
    --- "$BB" --name b --pids-limit max --exec /bin/busybox -- sleep 1000 >"$T/pids.out" 2>&1 &
  bg+=($!)
  wait_for "the pids pod to start" grep -q up "$T/pids.out"
  up=$(cat "$T/u-pids")
  cg() { jq -r --arg h "/sys/fs/cgroup/$1" '.[$h]' "$D/pods/run/$up/cgroups.json"; }
  if ! applies_on_stage1 kvm "the pod's cgroups and their limits are the guest's (functional.kvm_pods)"; then
    :
  elif [ -e "$(cg pids)/pids.max" ]; then
    [ "$(cat "$(cg pids)/pids.max")" = 40 ] || fail "pod pids.max $(cat "$(cg pids)/pids.max")"
    [ "$(cat "$(cg pids)/app-busybox/pids.max")" = 5 ] || fail "app pids.max: $(cat "$(cg pids)/app-busybox/pids.max")"
    [ "$(cat "$(cg pids)/app-b/pids.max")" = max ] || fail "app b pids.max: $(cat "$(cg pids)/app-b/pids.max")"
    [ "$(cat "$(cg memory)/memory.limit_in_bytes")" -le 200000000 ] &&
      [ "$(cat "$(cg memory)/memory.limit_in_bytes")" -gt 199000000 ] || fail "pod memory limit: $(cat "$(cg memory)/memory.limit_in_bytes")"
    [ "$(cat "$(cg cpu)/cpu.cfs_quota_us")" = 150000 ] || fail "pod cpu quota: $(cat "$(cg cpu)/cpu.cfs_quota_us")"
    echo "# pids, memory and cpu v1 limits checked in the pod's cgroups"
  else
    echo "# no v1 pids hierarchy here: the cgroup files are checked by functional.cgroup_v2_vm"
  fi
  expect_status 0 F cat-manifest "$up"
  jq -e '.annotations == [{"name": "dev.ferry.pids-limit", "value": "40"}] and
    ([.isolators[].name] == ["resource/memory", "resource/cpu"]) and
    ([.apps[].annotations[] | select(.name == "dev.ferry.pids-limit") | .value] == ["5", "max"])' \
    "$T/out" >/dev/null || fail "cat-manifest: $(jq -c '[.annotations, .isolators, [.apps[].annotations]]' "$T/out")"
  expect_status 0 F stop "$up"
  for bad in "--pids-limit 0" "--pids-limit lots" "--pod-pids-limit -5" "--pod-memory much"; do
    # shellcheck disable=SC2086
    expect_status 2 F run $bad "$BB"
    one_line "ferry run $bad"
  done
  ok "--pids-limit (fork fails past it), --pod-pids-limit, --pod-memory, --pod-cpu, recorded in the manifest"
fi

if applies_on_stage1 fly "a pod of two apps (fly runs one)"; then
  # logs --follow: prints what the apps write while the pod runs (the app waits for a file of a
  # host volume before it goes on), prefixed by app, and ends when the pod exits.
  mkdir -p "$T/gate"
  F run --uuid-file-save="$T/u-follow" --volume gate,kind=host,source="$T/gate" \
    "$BB" --name a --mount volume=gate,target=/gate --exec /bin/sh -- -c \
    'echo first; until [ -e /gate/go ]; do /bin/busybox sleep 0.05; done; printf "second\nno-newline"' \
    --- "$BB" --name b --exec /bin/sh -- -c 'echo from-b >&2' >"$T/follow-run.out" 2>&1 &
  bg+=($!)
  wait_for "the follow pod's UUID" test -s "$T/u-follow"
  F logs --follow "$(cat "$T/u-follow")" >"$T/follow.out" 2>"$T/follow.err" &
  follow=$!
  bg+=($follow)
  wait_for "logs --follow to print the first line" grep -qx '\[a\] first' "$T/follow.out"
  kill -0 "$follow" 2>/dev/null || fail "logs --follow ended while the pod runs: $(cat "$T/follow.out" "$T/follow.err")"
  grep -q second "$T/follow.out" && fail "the app went on before the gate opened"
  touch "$T/gate/go"
  wait_for "logs --follow to end with the pod" sh -c "! kill -0 $follow 2>/dev/null"
  wait "$follow" || fail "logs --follow exited $?: $(cat "$T/follow.err")"
  [ "$(grep '^\[a\]' "$T/follow.out")" = $'[a] first\n[a] second\n[a] no-newline' ] &&
    grep -qx '\[b\] from-b' "$T/follow.out" || fail "logs --follow printed: $(cat "$T/follow.out")"
  expect_status 0 F logs --follow --app a "$(cat "$T/u-follow")"  # an exited pod: what it wrote, no wait
  [ "$(cat "$T/out")" = $'first\nsecond\nno-newline' ] || fail "logs --follow --app a of an exited pod: $(cat "$T/out")"
  ok "logs --follow: lines while the pod runs, [app] prefixes, ends when the pod exits"
fi

# 20 pods at once: each gets its own app's exit status (on kvm 2: each is a VM of 672 MiB under
# TCG, and 4 of them on 2 loaded cores have missed the 240 s boot timeout).
n=20
applies_on_stage1 kvm "2 pods at once, not 20" || n=2
pids=()
for i in $(seq 1 "$n"); do
  F run "$BB" --exec /bin/sh -- -c "echo pod-$i; exit $((i % 5))" >"$T/c$i.out" 2>"$T/c$i.err" &
  pids+=($!)
done
for i in $(seq 1 "$n"); do
  set +e
  wait "${pids[$((i - 1))]}"
  rc=$?
  set -e
  [ "$rc" -eq $((i % 5)) ] || fail "concurrent pod $i exited $rc: $(cat "$T/c$i.err")"
  grep -qx "pod-$i" "$T/c$i.out" || fail "concurrent pod $i printed: $(cat "$T/c$i.out")"
done
ok "$n pods run concurrently, each with its own exit status"

expect_status 0 F gc --grace-period=0s
no_mounts_under "$D/pods" "gc"
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] || fail "gc left pods: $(find "$D/pods" -maxdepth 2)"
ok "gc removes every exited pod, no mount left"
echo "pods_ns: $checks checks passed"
