#!/usr/bin/env bash
# --log-driver=journal against a real systemd (systemd_lib.sh): each line an app writes is a
# journal entry with FERRY_POD_UUID, FERRY_APP, SYSLOG_IDENTIFIER and PRIORITY 6 (stdout) or 3
# (stderr), read back with journalctl -o json; nothing goes to logs/; `ferry logs` and
# `ferry logs --follow` read the entries; the nspawn stage1 refuses the driver in one line.
# Before: --log-driver was a usage error (exit 2).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
pods_test_setup
BUILD=$(cd "$(dirname "$FERRY")/.." && pwd)
trap 'sd_shutdown; stop_running_pods; gc_pods; rm -rf "$T"' EXIT
sd_boot "$BUILD" "$T" "$FIXTURES"
SF() { in_sd "$FERRY" --dir "$D" --insecure-options=image "$@"; }

# A pod is started as a unit of that systemd (its stage1 then connects that system's journal).
expect_status 0 F run --unit --log-driver=journal "$BB" --exec /bin/sh -- -c \
  'echo out-line; echo err-line >&2; printf partial'
u1=$(sed -n 's/^uuid=//p' "$T/out")
expect_status 0 F status --wait=30s "$u1"
in_sd journalctl --sync
in_sd journalctl -o json "FERRY_POD_UUID=$u1" >"$T/j1.json"
jq -s -e --arg u "$u1" '
  (map(select(.MESSAGE == "out-line" and .PRIORITY == "6")) | length == 1) and
  (map(select(.MESSAGE == "err-line" and .PRIORITY == "3")) | length == 1) and
  (map(select(.MESSAGE == "partial")) | length == 1) and
  all(.[]; .FERRY_APP == "busybox" and .SYSLOG_IDENTIFIER == "busybox" and .FERRY_POD_UUID == $u)' \
  "$T/j1.json" >/dev/null || fail "journal entries: $(cat "$T/j1.json")"
ok "journal entries carry FERRY_POD_UUID, FERRY_APP, SYSLOG_IDENTIFIER, PRIORITY 6/3 (a last partial line too)"
n=$(in_sd journalctl -o json -u "ferry-$u1.service" | jq -s 'map(select(.MESSAGE == "out-line")) | length')
[ "$n" = 1 ] || fail "journalctl -u ferry-$u1.service has out-line $n times (once from the pod, none from ferry's stdout)"
[ ! -s "$D/pods/run/$u1/logs/busybox.log" ] && [ ! -s "$D/pods/exited-garbage/$u1/logs/busybox.log" ] ||
  fail "logs/busybox.log has the lines"
ok "journalctl -u ferry-<uuid>.service finds each line once (nothing on ferry's stdout); nothing in logs/"
SF logs "$u1" >"$T/l1.out"  # where that journal is
[ "$(cat "$T/l1.out")" = "$(printf 'out-line\nerr-line\npartial')" ] || fail "ferry logs: $(cat "$T/l1.out")"
ok "ferry logs reads the pod's entries from the journal"

# --follow: a running pod's lines as they come, and the end with the pod.
expect_status 0 F run --unit --log-driver=journal "$BB" --exec /bin/sh -- -c \
  'for i in 1 2 3; do echo tick-$i; sleep 1; done'
u2=$(sed -n 's/^uuid=//p' "$T/out")
wait_for "the second pod to run" test -e "$D/pods/run/$u2/pid"
timeout 60 bash -c "$(declare -f in_sd); SD_LEADER=$SD_LEADER; in_sd '$FERRY' --dir '$D' logs --follow '$u2'" >"$T/l2.out" 2>&1 ||
  fail "logs --follow: $(cat "$T/l2.out")"
grep -q tick-1 "$T/l2.out" && grep -q tick-2 "$T/l2.out" || fail "logs --follow: $(cat "$T/l2.out")"
ok "ferry logs --follow prints a running pod's entries and ends with the pod"

# While a pod runs, machined shows its lines too: `machinectl status` prints the last entries of
# the machine's unit, which the init's entries belong to (_SYSTEMD_UNIT, from its cgroup below
# the unit). `journalctl -M` reads journal files in the machine's root directory (the pod
# directory, the init's root), which a pod has none of: README "Pods under systemd".
expect_status 0 F run --unit --log-driver=journal "$BB" --exec /bin/sh -- -c 'echo tick-m; exec sleep 1000'
u3=$(sed -n 's/^uuid=//p' "$T/out")
mstatus() { in_sd machinectl status --no-pager "ferry-$u3" >"$T/mstatus" 2>&1 && grep -q "tick-m" "$T/mstatus"; }
wait_for "machinectl status to show the pod's lines" mstatus
grep -q "Leader: $(cat "$D/pods/run/$u3/pid") (ferry-init)" "$T/mstatus" || fail "machinectl status: $(cat "$T/mstatus")"
ok "machinectl status ferry-<uuid> shows the init as leader and the pod's last lines"
in_sd journalctl -M "ferry-$u3" --no-pager >"$T/jm" 2>&1 || true
grep -q "No journal files were found" "$T/jm" || fail "journalctl -M: $(cat "$T/jm")"
ok "journalctl -M ferry-<uuid> finds no journal files (the pod keeps none), as documented"
expect_status 0 F stop "$u3"

# The nspawn stage1 cannot pass the journal's socket (systemd-nspawn closes it): one line.
if command -v systemd-nspawn >/dev/null; then
  expect_status 254 F run --stage1-name=nspawn --log-driver=journal "$BB" --exec /bin/true
  grep -q 'not supported: stage1 "nspawn" does not offer --log-driver=journal' "$T/err" || fail "nspawn: $(cat "$T/err")"
  ok "nspawn refuses --log-driver=journal in one line"
fi
sd_no_ferry_units "after the journal tests"
echo "PASS: $checks checks"
