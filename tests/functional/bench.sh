#!/usr/bin/env bash
# `ferry bench`: the stage1s it compares are the ones installed beside ferry (discovered, none
# named); every figure is there and plausible (no timing is asserted); the JSON parses; the
# isolation checklist is measured in the pod, so --net=host shows in it; a stage1 that cannot
# run and the text table say so; no pod is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
PROBE=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/ferry-bench-probe
[ -x "$PROBE" ] || skip "ferry-bench-probe is not built ($PROBE)"
INSTALLED=$(cd "$NS/.." && for d in */; do [ -f "$d/stage1.json" ] && echo "${d%/}"; done | sort | jq -R . | jq -sc .)

expect_status 0 F bench --runs 2 --format=json "$BB" --exec /bin/sh -- -c 'echo hi; sleep 0.2'
cp "$T/out" "$T/bench.json"
jq -e . "$T/bench.json" >/dev/null || fail "bench --format=json does not parse"
[ "$(jq -c '[.stage1s[].name] | sort' "$T/bench.json")" = "$INSTALLED" ] ||
  fail "bench compared $(jq -c '[.stage1s[].name]' "$T/bench.json"), installed: $INSTALLED"
ok "bench compares every installed stage1: $INSTALLED"

jq -e '.stage1s[] | select(.name == "ns") |
  (.runs | length) == 2 and
  all(.runs[]; .exitStatus == 0 and .totalMs > 0 and .firstOutputMs > 0 and
               .firstOutputMs <= .totalMs and .supervisionKiB > 0 and .supervisionProcesses >= 1) and
  .totalMs.median > 0 and .firstOutputMs.samples == 2' "$T/bench.json" >/dev/null ||
  { jq '.stage1s[] | select(.name == "ns") | .runs' "$T/bench.json" >&2; fail "ns: figures missing or implausible"; }
ok "ns: 2 runs, each with first output <= total time and a supervision memory > 0"

jq -e '.host.ns.pid > 0 and (.host.boot_id | length) > 0' "$T/bench.json" >/dev/null ||
  fail "the probe's host view is missing"
jq -e '.stage1s[] | select(.name == "ns") | .isolation |
  .ownPidNamespace and .ownNetNamespace and .ownIpcNamespace and .ownUtsNamespace and
  .ownMntNamespace and (.separateKernel | not) and .seccompMode == 2 and
  .capabilitiesEffective < .capabilitiesHost and .sysReadOnly == true and
  .maskedProcPaths == .sensitiveProcPaths and (.deviceMem | test("refused"))' "$T/bench.json" >/dev/null ||
  { jq '.stage1s[] | select(.name == "ns") | .isolation' "$T/bench.json" >&2; fail "ns: checklist"; }
# The checklist's inodes are the probe's own readings, compared with the host's.
pod_net=$(jq '.stage1s[] | select(.name == "ns") | .probe.ns.net' "$T/bench.json")
[ "$pod_net" != "$(stat -L -c %i /proc/self/ns/net)" ] || fail "the pod's net namespace is the host's"
ok "ns: the probe measured own namespaces, seccomp, fewer capabilities, read-only /sys, masked /proc, no /dev/mem"

expect_status 0 F bench --stage1 ns --runs 1 --format=json --net=host "$BB" --exec /bin/sh -- -c 'echo hi'
jq -e '.stage1s[0].isolation | (.ownNetNamespace | not) and .ownPidNamespace' "$T/out" >/dev/null ||
  { jq '.stage1s[0].isolation' "$T/out" >&2; fail "--net=host does not show in the checklist"; }
[ "$(jq '.stage1s[0].probe.ns.net' "$T/out")" = "$(stat -L -c %i /proc/self/ns/net)" ] ||
  fail "--net=host: the probe's net namespace is not the host's"
ok "--net=host: the checklist says no own net namespace (the probe saw the host's)"

expect_status 0 F bench --stage1 ns,nosuch --runs 1 "$BB" --exec /bin/sh -- -c 'echo hi'
grep -q '^stage1  *ns  *nosuch' "$T/out" || fail "table header: $(cat "$T/out")"
grep -q '^first output, ms  *[0-9.]* ([0-9.]*-[0-9.]*)  *cannot run' "$T/out" || fail "table: $(cat "$T/out")"
grep -q '^  own net namespace  *yes' "$T/out" || fail "table checklist: $(cat "$T/out")"
grep -q '^nosuch: cannot run the pod: .*no stage1 named "nosuch"' "$T/out" || fail "table: $(cat "$T/out")"
ok "the table: figures and checklist per stage1; a stage1 that cannot run says why"

F list --no-legend >"$T/list"
[ ! -s "$T/list" ] || fail "bench left pods: $(cat "$T/list")"
ok "bench leaves no pod"
