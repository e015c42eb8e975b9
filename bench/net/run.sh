#!/usr/bin/env bash
# The cost of pod networking per pod start, ferry against podman on the same machine: a run of
# /bin/true (busybox) with no network, with the default network (ferry: CNI ptp + host-local +
# masquerade, the namespace, ADD before the stage1, DEL after; podman 4.3: its CNI bridge
# network), and with one published port (portmap for both). Wall time of the whole run (start
# to exit, teardown included); min/median/max of N runs, rounds interleaved so that load drifts
# hit both alike. podman runs with a store of its own under the work directory, runc as its
# runtime (Debian's crun refuses this hybrid cgroup host) and no default ulimits (root here
# lacks CAP_SYS_RESOURCE, podman's default nofile/nproc cannot be set). podman missing: ferry's
# figures alone.
# Usage: bench/net/run.sh PATH-TO-FERRY [N]
set -euo pipefail
ferry=${1:?usage: bench/net/run.sh PATH-TO-FERRY [N]}
n=${2:-10}
work=$(mktemp -d /tmp/ferry-bench-net-XXXXXX)
export CONTAINERS_CONF=$work/containers.conf
P=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver=overlay
  --cgroup-manager=cgroupfs --events-backend=file --runtime runc)
cleanup() {
  "$ferry" --dir "$work/d" gc --grace-period=0s >/dev/null 2>&1 || true
  if [ -n "${have_podman:-}" ]; then
    "${P[@]}" rm -af >/dev/null 2>&1 || true
    "${P[@]}" system reset -f >/dev/null 2>&1 || true
  fi
  umount -R "$work/podman" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
r=$work/img
mkdir -p "$r/rootfs/bin"
cp /bin/busybox "$r/rootfs/bin/busybox"
printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/true","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/busybox","true"],"user":"0","group":"0"}}\n' >"$r/manifest"
tar -C "$r" -czf "$work/true.aci" manifest rootfs
F() { "$ferry" --dir "$work/d" --insecure-options=image run "$@" "$work/true.aci"; }
F --net=none >/dev/null  # the store warm
have_podman=
if command -v podman >/dev/null && command -v runc >/dev/null; then
  printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
  tar -C "$r/rootfs" -c . | "${P[@]}" import -q - localhost/ferry-bench-true >/dev/null
  Pm() { "${P[@]}" run --rm "$@" localhost/ferry-bench-true /bin/busybox true; }
  Pm --network=none >/dev/null && have_podman=1
fi
[ -n "$have_podman" ] || echo "podman (with runc) is not usable here: ferry's figures only"

declare -A runs
ms() { # LABEL CMD...: one timed run appended to runs[LABEL]
  local label=$1 t0 t1
  shift
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  runs[$label]+="$(((t1 - t0) / 1000000)) "
}
for i in $(seq 1 "$n"); do
  ms ferry:none F --net=none
  ms ferry:default F --net=default
  ms ferry:publish F --net=default --publish 18999:80
  if [ -n "$have_podman" ]; then
    ms podman:none Pm --network=none
    ms podman:default Pm --network=bridge
    ms podman:publish Pm --network=bridge -p 18999:80
  fi
done
stats() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}'; }
median() { stats <<<"${runs[$1]}" | cut -d' ' -f2; }
printf '%-16s %8s %8s %8s   (ms, %s runs each)\n' run min median max "$n"
for label in ferry:none ferry:default ferry:publish podman:none podman:default podman:publish; do
  [ -n "${runs[$label]:-}" ] || continue
  read -r lo mid hi <<<"$(stats <<<"${runs[$label]}")"
  printf '%-16s %8s %8s %8s\n' "$label" "$lo" "$mid" "$hi"
done
fd=$(($(median ferry:default) - $(median ferry:none)))
fp=$(($(median ferry:publish) - $(median ferry:none)))
echo "ferry: the default network costs $fd ms per pod, with a published port $fp ms"
if [ -n "$have_podman" ]; then
  pd=$(($(median podman:default) - $(median podman:none)))
  pp=$(($(median podman:publish) - $(median podman:none)))
  echo "podman: the default network costs $pd ms per pod, with a published port $pp ms"
  awk -v a="$fd" -v b="$pd" -v c="$fp" -v d="$pp" 'BEGIN {
    if (b > 0) printf "network cost ferry/podman: default %.2fx", a / b
    if (d > 0) printf ", publish %.2fx", c / d
    print "" }'
  awk -v a="$(median ferry:default)" -v b="$(median podman:default)" 'BEGIN {
    printf "whole run on the default network ferry/podman: %.2fx\n", a / b }'
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
