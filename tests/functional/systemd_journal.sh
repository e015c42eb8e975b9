#!/usr/bin/env bash
# --log-driver=journal against a real systemd (systemd_lib.sh): each line an app writes is a
# journal entry with FERRY_POD_UUID, FERRY_APP, SYSLOG_IDENTIFIER and PRIORITY 6 (stdout) or 3
# (stderr), read back with journalctl -o json; nothing goes to logs/; `ferry logs` and
# `ferry logs --follow` read the entries, on ns, fly and nspawn.
# Under systemd a pod's entries are in its own journal, the journald namespace ferry-<uuid> that
# its unit starts (stage1/ABI.md §5 "systemd"): journalctl --namespace=ferry-<uuid>, -M ferry-<uuid>
# (the ns init's root holds the files at /var/log/journal/<uuid without dashes>), -m; and in the
# system's journal, under the pod's unit: journalctl -u ferry-<uuid>.service (or -u NAME.service).
# Before: --log-driver was a usage error (exit 2).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
sd_test_setup
sd_boot
SF() { in_sd "$FERRY" --dir "$D" --insecure-options=image "$@"; }
J() { in_sd journalctl --namespace="ferry-$1" "${@:2}"; }  # UUID ARGS: the pod's own journal
ns_journald() { in_sd systemctl show -P MainPID "systemd-journald@ferry-$1.service"; }
stopped=  # journalds stopped (SIGSTOP), continued at the latest on exit
SD_AT_EXIT='for p in $stopped; do in_sd kill -CONT "$p"; done'
stop_journald() { stopped="$stopped $1"; in_sd kill -STOP "$1"; }

# A pod is started as a unit of that systemd (its stage1 then connects its own journal).
expect_status 0 F run --unit --log-driver=journal "$BB" --exec /bin/sh -- -c \
  'echo out-line; echo err-line >&2; printf partial'
u1=$(sed -n 's/^uuid=//p' "$T/out")
expect_status 0 F status --wait=30s "$u1"
J "$u1" --sync
J "$u1" -o json "FERRY_POD_UUID=$u1" >"$T/j1.json"
jq -s -e --arg u "$u1" '
  (map(select(.MESSAGE == "out-line" and .PRIORITY == "6")) | length == 1) and
  (map(select(.MESSAGE == "err-line" and .PRIORITY == "3")) | length == 1) and
  (map(select(.MESSAGE == "partial")) | length == 1) and
  all(.[]; .FERRY_APP == "busybox" and .SYSLOG_IDENTIFIER == "busybox" and .FERRY_POD_UUID == $u)' \
  "$T/j1.json" >/dev/null || fail "journal entries: $(cat "$T/j1.json")"
ok "journal entries carry FERRY_POD_UUID, FERRY_APP, SYSLOG_IDENTIFIER, PRIORITY 6/3 (a last partial line too)"
n=$(J "$u1" -o json -u "ferry-$u1.service" | jq -s 'map(select(.MESSAGE == "out-line")) | length')
[ "$n" = 1 ] || fail "journalctl --namespace -u ferry-$u1.service has out-line $n times (once from the pod, none from ferry's stdout)"
[ ! -s "$D/pods/run/$u1/logs/busybox.log" ] && [ ! -s "$D/pods/exited-garbage/$u1/logs/busybox.log" ] ||
  fail "logs/busybox.log has the lines"
ok "journalctl --namespace=ferry-<uuid> -u ferry-<uuid>.service finds each line once (not on ferry's stdout); nothing in logs/"
# The init sends each entry to the system's journal too, where journald files it under the pod's
# unit: plain journalctl -u finds the app's lines, with their fields, once each. Before: none (the
# lines were in the pod's namespace alone).
unit_lines() { # UUID UNIT OUT: the app's entries journalctl -u UNIT shows, as JSON lines
  in_sd journalctl --sync
  in_sd journalctl -o json -u "$2" "FERRY_POD_UUID=$1" >"$3"
}
unit_lines "$u1" "ferry-$u1.service" "$T/ju1.json"
jq -s -e --arg u "$u1" '
  (map(.MESSAGE) == ["out-line", "err-line", "partial"]) and
  (map(.PRIORITY) == ["6", "3", "6"]) and
  all(.[]; .FERRY_APP == "busybox" and .SYSLOG_IDENTIFIER == "busybox" and .FERRY_POD_UUID == $u and
    .OBJECT_SYSTEMD_UNIT == "ferry-\($u).service")' \
  "$T/ju1.json" >/dev/null || fail "journalctl -u ferry-$u1.service: $(jq -c '{MESSAGE, PRIORITY, _SYSTEMD_UNIT}' "$T/ju1.json")"
ok "journalctl -u ferry-<uuid>.service shows the app's lines once each, with FERRY_POD_UUID, FERRY_APP, SYSLOG_IDENTIFIER, PRIORITY"

# ferry logs reads one of the two journals (the pod's own): each line once. Before (reading both
# once the system's had them too): each line twice.
SF logs "$u1" >"$T/l1.out"  # where that journal is
[ "$(cat "$T/l1.out")" = "$(printf 'out-line\nerr-line\npartial')" ] || fail "ferry logs: $(cat "$T/l1.out")"
ok "ferry logs reads the pod's entries from the journal, each line once"
# The pod's journal goes with the pod (as logs/ does): ferry rm deletes the namespace's files and
# the link. Before: both left behind (8 MiB of journal file a pod).
mid=$(in_sd cat /etc/machine-id)
in_sd test -d "/var/log/journal/$mid.ferry-$u1" -a -L "/var/log/journal/${u1//-/}" ||
  fail "no journal directory or link for pod $u1: $(in_sd ls /var/log/journal)"
SF rm "$u1" >/dev/null
! in_sd test -e "/var/log/journal/$mid.ferry-$u1" -o -L "/var/log/journal/${u1//-/}" ||
  fail "ferry rm left the pod's journal: $(in_sd ls /var/log/journal)"
ok "ferry rm deletes the pod's own journal and its link"
# A pod in a unit of the name asked for: -u NAME.service, -M ferry-<uuid> both find its line.
expect_status 0 F run --unit=journal-pod --log-driver=journal "$BB" --exec /bin/sh -- -c \
  'echo named-line; exec sleep 1000'
un=$(sed -n 's/^uuid=//p' "$T/out")
named() { [ "$(in_sd journalctl -M "ferry-$un" -q -o cat --no-pager "FERRY_POD_UUID=$un" 2>&1)" = named-line ]; }
wait_for "journalctl -M ferry-<uuid> to show the named unit's pod's line" named
unit_lines "$un" journal-pod.service "$T/jun.json"
[ "$(jq -r .MESSAGE "$T/jun.json")" = named-line ] || fail "journalctl -u journal-pod.service: $(cat "$T/jun.json")"
ok "run --unit=NAME: journalctl -u NAME.service and -M ferry-<uuid> both show the pod's line"
expect_status 0 F stop "$un"

# No line is missing from ferry logs, with or without --follow, however late journald writes it:
# the pod init sends each line to journald's socket, which queues it until journald reads it and
# writes the entry. To be sure to see them, journald here is stopped (SIGSTOP) before the pod
# writes its last lines, and only continued once the pod has ended and ferry logs has had 2 s to
# read (a follow sees the end of the pod within 0.25 s); it is the pod's own journald (the
# namespace's). A pod writes 600 lines (as ferry logs
# --follow starts), waits for the test's go (a file in a host volume) and writes 4 more: the
# socket queues only so many (net.unix.max_dgram_qlen: 10 here, 512 where systemd sets it), the
# init waits for room beyond. Before: both printed none of the last 4 (they had stopped reading).
late_pod() { # K: starts the pod, $u its uuid
  mkdir -p "$T/go$1"
  expect_status 0 F run --unit --log-driver=journal --volume "go,kind=host,source=$T/go$1" \
    "$BB" --mount volume=go,target=/go --exec /bin/sh -- -c \
    'i=1; while [ $i -le 600 ]; do echo a-$i; i=$((i + 1)); done
     while [ ! -e /go/now ]; do sleep 0.05; done
     i=1; while [ $i -le 4 ]; do echo b-$i; i=$((i + 1)); done'
  u=$(sed -n 's/^uuid=//p' "$T/out")
  journald=$(ns_journald "$u")
  [ "${journald:-0}" -gt 0 ] || fail "no systemd-journald@ferry-$u.service"
}
{ seq 1 600 | sed 's/^/a-/'; seq 1 4 | sed 's/^/b-/'; } >"$T/late.want"
sd_logs() { # ARGS...: ferry logs inside the test systemd, in the background ($!)
  in_sd_timeout 60 "$FERRY" --dir "$D" logs "$@"
}
cont_journald() { # PID: continues journald when PID (ferry logs) has ended or in 2 s
  local i
  for i in $(seq 1 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  in_sd kill -CONT "$journald"
}
same_lines() { # OUT ERR WHAT
  [ ! -s "$2" ] || fail "$3 said: $(cat "$2")"
  diff "$T/late.want" "$1" >"$1.diff" ||
    fail "$3 missed or repeated lines: $(grep -c '^<' "$1.diff") missing, $(grep -c '^>' "$1.diff") extra; $(head -3 "$1.diff")"
}
late_pod 1
sd_logs --follow "$u" >"$T/f1.out" 2>"$T/f1.err" &
follower=$!
wait_for "ferry logs --follow to print the first lines" grep -qx a-600 "$T/f1.out"
stop_journald "$journald"
touch "$T/go1/now"
expect_status 0 F status --wait=30s "$u"
cont_journald "$follower"
rc=0
wait "$follower" || rc=$?
[ "$rc" = 0 ] || fail "logs --follow exited $rc: $(cat "$T/f1.err")"
same_lines "$T/f1.out" "$T/f1.err" "logs --follow"
ok "ferry logs --follow prints every line once, those of the follow's start and those journald wrote after the pod ended"
late_pod 2
wait_for "the pod's first lines in the journal" sh -c "[ \$(nsenter -t $SD_LEADER -a journalctl --namespace=ferry-$u -q -o cat FERRY_POD_UUID=$u | wc -l) = 600 ]"
stop_journald "$journald"
touch "$T/go2/now"
expect_status 0 F status --wait=30s "$u"
sd_logs "$u" >"$T/l2.out" 2>"$T/l2.err" &
reader=$!
cont_journald "$reader"
rc=0
wait "$reader" || rc=$?
[ "$rc" = 0 ] || fail "logs exited $rc: $(cat "$T/l2.err")"
same_lines "$T/l2.out" "$T/l2.err" "logs"
ok "ferry logs of an ended pod prints every line, those journald wrote after ferry logs started too"

# A journald that does not read never stalls the pod (ABI §5 "systemd"): the init queues what its
# socket does not take (1 MiB), counts the lines beyond, and says how many in one entry
# (PRIORITY 4, FERRY_LINES_DROPPED) before the next line once journald reads again; at the pod's
# end it waits for the journal only while it takes something, then says on its stderr (the unit's
# log) how many lines never got there. Here journald is stopped while an app writes 30000 lines
# (~3.5 MiB of entries). Before: the init blocked on the full socket, the app on its full pipe.
go_pod() { # K SCRIPT: a journal pod whose SCRIPT waits for /go/now; $u its uuid
  mkdir -p "$T/go$1"
  expect_status 0 F run --unit --log-driver=journal --volume "go,kind=host,source=$T/go$1" \
    "$BB" --mount volume=go,target=/go --exec /bin/sh -- -c \
    "while [ ! -e /go/now ]; do sleep 0.05; done; $2"
  u=$(sed -n 's/^uuid=//p' "$T/out")
  journald=$(ns_journald "$u")
  [ "${journald:-0}" -gt 0 ] || fail "no systemd-journald@ferry-$u.service"
}
go_pod 3 'seq 1 30000 | sed s/^/c-/; touch /go/written
  while [ ! -e /go/more ]; do sleep 0.05; done; echo c-after'
stop_journald "$journald"
touch "$T/go3/now"
wait_for "the app to write its 30000 lines while journald is stopped" test -e "$T/go3/written"
in_sd kill -CONT "$journald"
touch "$T/go3/more"
expect_status 0 F status --wait=30s "$u"
J "$u" --sync
J "$u" -o json "FERRY_POD_UUID=$u" >"$T/j3.json"
jq -s -e '
  [.[] | select(.MESSAGE | startswith("c-"))] as $lines |
  ($lines | length) as $k | [.[] | select(.FERRY_LINES_DROPPED != null)] as $drop |
  $k > 1 and ($lines[:$k - 1] | map(.MESSAGE) == [range(1; $k) | "c-\(.)"]) and
  $lines[$k - 1].MESSAGE == "c-after" and ($drop | length) == 1 and
  ($drop[0].FERRY_LINES_DROPPED | tonumber) == 30000 - ($k - 1) and $drop[0].PRIORITY == "4" and
  $drop[0].FERRY_APP == "busybox" and
  $drop[0].MESSAGE == "ferry-init: \($drop[0].FERRY_LINES_DROPPED) lines dropped (the journal did not take them in time)" and
  ($drop[0].__REALTIME_TIMESTAMP | tonumber) < ($lines[$k - 1].__REALTIME_TIMESTAMP | tonumber)' \
  "$T/j3.json" >/dev/null || fail "entries after journald stalled: $(jq -c '{MESSAGE, FERRY_LINES_DROPPED}' "$T/j3.json" | sed -n '1p;$p')"
ok "a stopped journald stalls no app: lines c-1..c-K kept, one entry counts the 30000-K dropped, then the next line"
go_pod 4 'seq 1 30000 | sed s/^/d-/'
stop_journald "$journald"
touch "$T/go4/now"
started=$SECONDS
expect_status 0 F status --wait=20s "$u"
in_sd kill -CONT "$journald"
[ $((SECONDS - started)) -le 10 ] || fail "the pod took $((SECONDS - started)) s to end while journald was stopped"
J "$u" --sync
in_sd journalctl --sync
n=$(J "$u" -q -o cat "FERRY_POD_UUID=$u" | grep -c '^d-' || true)
[ "$n" -gt 0 ] || fail "no line of the pod in the journal (the socket's queue had some)"
in_sd journalctl -q -o cat _TRANSPORT=stdout >"$T/j4.out"
grep -q "ferry-init: the journal took nothing for 1000 ms: $((30000 - n)) lines of the apps' output dropped" "$T/j4.out" ||
  fail "the init's stderr does not count the $((30000 - n)) lines dropped: $(tail -5 "$T/j4.out")"
ok "a pod ends on time while journald is stopped; the init's stderr (the unit's output) says how many lines never reached the journal"
# journald tells an entry's unit from its sender's cgroup when it reads it: these lines it read
# after the pod's init was gone. The init names its unit (OBJECT_SYSTEMD_UNIT), which
# journalctl -u finds too. Before: none found (the flake of "journalctl -u ... 0 times").
m=$(J "$u" -q -o cat -u "ferry-$u.service" | grep -c '^d-' || true)
[ "$m" = "$n" ] || fail "journalctl -u ferry-$u.service finds $m of the $n lines journald read after the pod ended"
ok "journalctl -u ferry-<uuid>.service finds the lines journald read after the pod's init was gone"

# While a pod runs it is machine ferry-<uuid>, and `journalctl -M` reads the journal files in the
# machine's root (machined opens its leader's root): the ns init's root holds the pod's own at
# /var/log/journal/<uuid without dashes> (bound read-only). `journalctl -m` reads every machine's
# journal of /var/log/journal, where /var/log/journal/<uuid without dashes> links to the pod's.
# Before: "No journal files were found" (the lines were in the system's journal only).
expect_status 0 F run --unit --log-driver=journal "$BB" --exec /bin/sh -- -c 'echo tick-m; exec sleep 1000'
u3=$(sed -n 's/^uuid=//p' "$T/out")
mlines() { in_sd journalctl -M "ferry-$u3" -q -o json --no-pager >"$T/jm" 2>&1 && grep -q '"tick-m"' "$T/jm"; }
wait_for "journalctl -M ferry-<uuid> to show the pod's line" mlines
# (its journald's own entries are there too: "Journal started")
jq -s -e --arg u "$u3" 'all(.[]; (.FERRY_POD_UUID // $u) == $u and (._SYSTEMD_UNIT // "") != "init.scope")' \
  "$T/jm" >/dev/null || fail "journalctl -M ferry-$u3 shows more than the pod's journal: $(jq -c .MESSAGE "$T/jm" | head -5)"
in_sd machinectl status --no-pager "ferry-$u3" >"$T/mstatus" 2>&1 || true
grep -q "Leader: $(cat "$D/pods/run/$u3/pid") (ferry-init)" "$T/mstatus" || fail "machinectl status: $(cat "$T/mstatus")"
ok "journalctl -M ferry-<uuid> shows the pod's own journal (its line alone); machinectl status shows the init as leader"
# -m merges every journal of /var/log/journal: the system's copy and the pod's own.
in_sd journalctl --sync
in_sd journalctl -m -q -o cat "FERRY_POD_UUID=$u3" >"$T/jmm"
[ "$(cat "$T/jmm")" = "$(printf 'tick-m\ntick-m')" ] || fail "journalctl -m: $(cat "$T/jmm")"
ok "journalctl -m finds the pod's line in both journals (its own linked as machine <uuid> in /var/log/journal)"
expect_status 0 F stop "$u3"
# --private-users: the init (root of a user namespace) sends through the sockets the stage1
# connected, and its root holds the pod's own journal files too: -u, --namespace and -M find its
# line. Before: -M showed none ('No journal files were found': the files were not bound there).
mkdir -p "$T/go6"
expect_status 0 F run --unit --private-users --log-driver=journal --volume "go,kind=host,source=$T/go6" \
  "$BB" --mount volume=go,target=/go --exec /bin/sh -- -c \
  'echo tick-userns; while [ ! -e /go/now ]; do sleep 0.05; done'
u6=$(sed -n 's/^uuid=//p' "$T/out")
ulines() { [ "$(J "$u6" -q -o cat "FERRY_POD_UUID=$u6")" = tick-userns ]; }
wait_for "the --private-users pod's line in its own journal" ulines
umlines() { [ "$(in_sd journalctl -M "ferry-$u6" -q -o cat --no-pager "FERRY_POD_UUID=$u6" 2>&1)" = tick-userns ]; }
wait_for "journalctl -M ferry-<uuid> to show the --private-users pod's line" umlines
unit_lines "$u6" "ferry-$u6.service" "$T/ju6.json"
[ "$(jq -r .MESSAGE "$T/ju6.json")" = tick-userns ] || fail "--private-users: journalctl -u: $(cat "$T/ju6.json")"
touch "$T/go6/now"
expect_status 0 F status --wait=30s "$u6"
ok "--private-users: journalctl -u ferry-<uuid>.service and the pod's own journal find its line"
# fly: the init's root is the host's, so -M reads the host's journals, as -m does: the system's
# copy and the pod's own (through that link).
expect_status 0 F run --unit --stage1-name=fly --net=host --log-driver=journal "$BB" --exec /bin/sh -- -c \
  'echo tick-fly; exec sleep 1000'
u4=$(sed -n 's/^uuid=//p' "$T/out")
flines() { [ "$(in_sd journalctl -M "ferry-$u4" -q -o cat --no-pager "FERRY_POD_UUID=$u4" 2>&1)" = "$(printf 'tick-fly\ntick-fly')" ]; }
wait_for "journalctl -M ferry-<uuid> to show the fly pod's line" flines
[ "$(J "$u4" -q -o cat "FERRY_POD_UUID=$u4")" = tick-fly ] || fail "fly: not in the pod's own journal"
unit_lines "$u4" "ferry-$u4.service" "$T/ju4.json"
[ "$(jq -r .MESSAGE "$T/ju4.json")" = tick-fly ] || fail "fly: journalctl -u: $(cat "$T/ju4.json")"
ok "fly: the pod's own journal, which journalctl -M ferry-<uuid> reads too; journalctl -u finds the line"
expect_status 0 F stop "$u4"

# nspawn: systemd-nspawn closes every inherited socket, so the init connects the journal's
# sockets itself (bound into the container) and the pod's own journal files are bound at
# /var/log/journal/<uuid without dashes> in its root. Before: refused ('not supported: stage1
# "nspawn" does not offer --log-driver=journal').
if command -v systemd-nspawn >/dev/null; then
  expect_status 0 F run --unit --stage1-name=nspawn --log-driver=journal "$BB" --exec /bin/sh -- -c \
    'echo tick-nspawn; echo err-nspawn >&2; exec sleep 1000'
  u5=$(sed -n 's/^uuid=//p' "$T/out")
  nlines() { [ "$(in_sd journalctl -M "ferry-$u5" -q -o cat --no-pager "FERRY_POD_UUID=$u5" 2>&1)" = "$(printf 'tick-nspawn\nerr-nspawn')" ]; }
  wait_for "journalctl -M ferry-<uuid> to show the nspawn pod's lines" nlines
  unit_lines "$u5" "ferry-$u5.service" "$T/ju5.json"
  jq -s -e --arg u "$u5" '(map(.MESSAGE) == ["tick-nspawn", "err-nspawn"]) and
    (map(.PRIORITY) == ["6", "3"]) and all(.[]; .FERRY_APP == "busybox" and .FERRY_POD_UUID == $u)' \
    "$T/ju5.json" >/dev/null || fail "nspawn: journalctl -u: $(cat "$T/ju5.json")"
  SF logs "$u5" >"$T/l5.out"
  [ "$(cat "$T/l5.out")" = "$(printf 'tick-nspawn\nerr-nspawn')" ] || fail "nspawn: ferry logs: $(cat "$T/l5.out")"
  ok "nspawn: journalctl -M ferry-<uuid> and -u ferry-<uuid>.service show the pod's lines; ferry logs each once"
  expect_status 0 F stop "$u5"
  expect_status 0 F status --wait=30s "$u5"
fi
sd_no_ferry_units "after the journal tests"
echo "PASS: $checks checks"
