#!/usr/bin/env bash
# 20 ns pods at once: each ends with its own exit code, its own files, and leaves nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"
N=20
pids=()
for i in $(seq 1 $N); do
  new_pod "$T/p$i" --hostname "pod$i" --app a --tree "$T/tree" \
    --exec "[\"sh\",\"-c\",\"echo \$(hostname); sleep 0.5; exit $i\"]" \
    --app b --tree "$T/tree" --exec '["sh","-c","sleep 0.2"]'
  start_pod "$T/p$i"
  pids+=("$POD_PID")
done
for i in $(seq 1 $N); do
  set +e
  wait "${pids[$((i - 1))]}"
  code=$?
  set -e
  [ "$code" -eq "$i" ] || { cat "$T/p$i.err" >&2; fail "pod $i exited $code"; }
  [ "$(cat "$T/p$i/exit")" = "$i" ] || fail "pod $i: exit file"
  grep -qx "pod$i" "$T/p$i/logs/a.log" || fail "pod $i: log $(cat "$T/p$i/logs/a.log")"
  expect_field "$T/p$i/status/b.json" exitCode 0
done
ok "$N concurrent pods, each with its own exit code, hostname and logs"
for i in $(seq 1 $N); do expect_clean "$T/p$i" "pod $i" >/dev/null; done
ok "$N pods: no mounts and no cgroups left"
