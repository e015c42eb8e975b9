#!/usr/bin/env bash
# The cost of ferry's pod networking per pod: `ferry run` of /bin/true with --net=none against
# --net=default (CNI ptp + host-local + masquerade: the namespace, ADD before the stage1, DEL
# after), and --net=default --publish (portmap too). Median of N runs each, wall time of the
# whole run (start to exit, teardown included). podman is not part of Debian 12's setup here:
# no peer figure.
# Usage: bench/net/run.sh PATH-TO-FERRY [N]
set -euo pipefail
ferry=${1:?usage: bench/net/run.sh PATH-TO-FERRY [N]}
n=${2:-10}
work=$(mktemp -d /tmp/ferry-bench-net-XXXXXX)
trap '"$ferry" --dir "$work/d" gc --grace-period=0s >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
r=$work/img
mkdir -p "$r/rootfs/bin"
cp /bin/busybox "$r/rootfs/bin/busybox"
printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/true","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/busybox","true"],"user":"0","group":"0"}}\n' >"$r/manifest"
tar -C "$r" -czf "$work/true.aci" manifest rootfs
F() { "$ferry" --dir "$work/d" --insecure-options=image run "$@" "$work/true.aci"; }
F --net=none >/dev/null  # the store warm
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # LABEL ARGS...
  local label=$1 i t0 t1
  shift
  for i in $(seq 1 "$n"); do
    t0=$(date +%s%N)
    F "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
  done | median >"$work/$label"
  printf '%-32s %6s ms (median of %s)\n' "$label" "$(cat "$work/$label")" "$n"
}
measure none --net=none
measure default --net=default
measure default+publish --net=default --publish 18999:80
echo "default - none: $(($(cat "$work/default") - $(cat "$work/none"))) ms per pod; load: $(cut -d' ' -f1-3 /proc/loadavg)"
