#!/usr/bin/env bash
# 20 pods on ferry's default network started at once, each with an address of its own, then
# removed at once: nothing of their networks is left (veths, rules, leases, mounts), and gc
# finds nothing to do.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/net_lib.sh"
net_test_setup
n=20
pids=()
for i in $(seq 1 $n); do
  F run --net=default --uuid-file-save="$T/p$i.uuid" "$NETIMG" >"$T/p$i.out" 2>"$T/p$i.err" &
  pids+=($!)
done
for i in $(seq 1 $n); do
  wait "${pids[$((i - 1))]}" || fail "pod $i: $(cat "$T/p$i.out" "$T/p$i.err")"
done
for i in $(seq 1 $n); do sed -n 's/.*eth0 *inet \(172\.16\.28\.[0-9]*\)\/.*/\1/p' "$T/p$i.out"; done | sort >"$T/ips"
[ "$(wc -l <"$T/ips")" = $n ] || fail "addresses: $(cat "$T"/p*.out)"
[ "$(sort -u "$T/ips" | wc -l)" = $n ] || fail "an address given twice: $(cat "$T/ips")"
ok "$n pods started at once on default, $n distinct addresses"
nothing_left "$n pods that ended"
pids=()
for i in $(seq 1 $n); do
  F rm "$(cat "$T/p$i.uuid")" >/dev/null 2>"$T/rm$i.err" &
  pids+=($!)
done
for i in $(seq 1 $n); do wait "${pids[$((i - 1))]}" || fail "rm $i: $(cat "$T/rm$i.err")"; done
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] || fail "pods left: $(find "$D/pods" -mindepth 2)"
nothing_left "$n pods removed at once"
ok "$n pods removed at once: no pod, veth, rule, lease or mount left"
