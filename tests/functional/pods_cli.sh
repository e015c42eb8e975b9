#!/usr/bin/env bash
# `ferry run` as a user coming from rkt and podman types it (issue 13): which words are flag
# values (the parser's flag table: a bare --net or --private-users never takes the image), and
# what arguments after -- do (appended to an ACI's exec as rkt; an OCI image's Cmd replaced, its
# Entrypoint kept, as Docker and podman).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
command -v umoci >/dev/null || skip "umoci is not installed (dist/setup)"

# --- the flag table: a bare optional-value flag leaves the next word alone.
expect_status 0 F run --net "$BB"
grep -qx hi "$T/out" || fail "run --net IMAGE: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$BB" --net
grep -qx hi "$T/out" || fail "run IMAGE --net: $(cat "$T/out" "$T/err")"
net_value=host
applies_on_stage1 kvm "no --net=host (its pods are VMs): --net=none" || net_value=none
expect_status 0 F run --net="$net_value" "$BB"
expect_status 2 F run --net=no/such "$BB"
grep -q -- '--net' "$T/err" || fail "--net=no/such: $(cat "$T/err")"
# Value flags still take the next word; flags between two images belong to the first.
expect_status 0 F run --hostname h1 "$BB" --name one --readonly-rootfs --exec /bin/busybox \
  -- hostname --- "$BB" --name two --exec /bin/busybox -- echo two
grep -qx '\[one\] h1' "$T/out" && grep -qx '\[two\] two' "$T/out" || fail "two apps: $(cat "$T/out")"
expect_status 0 F run "$BB" --name first --readonly-rootfs "$BB" --name second
grep -qx '\[first\] hi' "$T/out" && grep -qx '\[second\] hi' "$T/out" ||
  fail "an image after an image starts an app: $(cat "$T/out")"
ok "a bare --net takes no value; value flags take the next word; app flags follow their image"

# A value flag at the end, a flag value that is not UTF-8: usage errors naming the flag.
expect_status 2 F run "$BB" --name
one_line "--name at the end"
grep -q -- '--name needs a value' "$T/err" || fail "--name at the end: $(cat "$T/err")"
expect_status 2 F run "$BB" --name "$(printf 'a\xffb')"
one_line "non-UTF-8 --name"
grep -q -- '--name: the value is not UTF-8' "$T/err" || fail "non-UTF-8 --name: $(cat "$T/err")"
expect_status 2 F run "$BB" -- "$(printf '\xc3')"
one_line "non-UTF-8 argument"
grep -q 'not UTF-8' "$T/err" || fail "non-UTF-8 argument: $(cat "$T/err")"
ok "a missing value and a non-UTF-8 value or argument: one line, exit 2"

# --- arguments after --: an ACI's exec /bin/sh -c "echo hi" gets them appended ($0 here).
expect_status 0 F run "$BB" -- extra
grep -qx hi "$T/out" || fail "ACI exec with appended args: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$BB" --exec /bin/busybox -- echo a b
grep -qx 'a b' "$T/out" || fail "--exec with args: $(cat "$T/out")"
# An OCI image with Entrypoint [/bin/echo, ep:] and Cmd [default]: the args replace Cmd only.
cp -a "$FIXTURES/oci" "$T/oci"
umoci config --image "$T/oci:v1" --tag ep --config.entrypoint /bin/echo --config.entrypoint ep: \
  --config.cmd default --config.user 0
expect_status 0 F run "oci:$T/oci:ep"
grep -qx 'ep: default' "$T/out" || fail "OCI Entrypoint + Cmd: $(cat "$T/out" "$T/err")"
expect_status 0 F run "oci:$T/oci:ep" -- a b
grep -qx 'ep: a b' "$T/out" || fail "OCI args replace Cmd, keep Entrypoint: $(cat "$T/out" "$T/err")"
# Cmd only (no Entrypoint): the args are the whole command, as docker run IMAGE CMD.
umoci config --image "$T/oci:v1" --tag cmd --clear=config.entrypoint --config.cmd /bin/false \
  --config.user 0
expect_status 0 F run "oci:$T/oci:cmd" -- /bin/echo from-args
grep -qx 'from-args' "$T/out" || fail "OCI Cmd only: $(cat "$T/out" "$T/err")"
ok "arguments after -- follow an ACI's exec; an OCI image's Cmd gives way, its Entrypoint stays"

# --- each pod shows the name it was run under, as run takes it; list --full adds image IDs.
# One digest under two names: a tag of the layout and a second tag of it.
umoci tag --image "$T/oci:ep" other
abs=$(cd "$T/oci" && pwd)
expect_status 0 F run --uuid-file-save="$T/ep.uuid" "oci:$T/oci:ep" -- shown
expect_status 0 F run --uuid-file-save="$T/other.uuid" "oci:$T/oci:other" -- shown
expect_status 0 F list --no-legend --full
field() { awk -v u="$(cat "$1")" -v n="$2" '$1 == u {print $n}' "$T/out"; }  # UUID-FILE FIELD
[ "$(field "$T/ep.uuid" 3)" = "oci:$abs:ep" ] || fail "the pod run as oci:…:ep: $(cat "$T/out")"
[ "$(field "$T/other.uuid" 3)" = "oci:$abs:other" ] ||
  fail "the pod run as oci:…:other: $(cat "$T/out")"
awk -v u="$(cat "$T/ep.uuid")" '$1 == u {print $NF}' "$T/out" | grep -qx 'sha256:[0-9a-f]\{64\}' ||
  fail "list --full prints no image ID: $(cat "$T/out")"
name=$(field "$T/other.uuid" 3)
expect_status 0 F run "$name" -- pasted
grep -qx 'ep: pasted' "$T/out" || fail "the name list shows cannot be run: $name"
expect_status 0 F --format=json status --uuid-file="$T/other.uuid"
jq -e --arg n "oci:$abs:other" '.apps[0].imageName == $n' "$T/out" >/dev/null ||
  fail "status imageName: $(cat "$T/out")"
ok "list and status show each pod's image as it was run (oci:DIR:TAG), pasteable into run; list --full has image IDs"

# --- --user without --group: the user's primary group (the OCI fixture runs as app, 1000:1000).
expect_status 0 F run "$OCI" --user 0 --exec /bin/id
grep -q '^uid=0(root) gid=0(root)' "$T/out" || fail "--user 0: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$OCI" --user daemon --exec /bin/id
grep -q '^uid=1(daemon) gid=1(daemon)' "$T/out" || fail "--user daemon: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$OCI" --user 0 --group 50 --exec /bin/id
grep -q '^uid=0(root) gid=50(staff)' "$T/out" || fail "--user 0 --group 50: $(cat "$T/out" "$T/err")"
ok "--user without --group takes the user's primary group, not the image's"

# --- HOME from the image's /etc/passwd (else /), unless set; TERM for an interactive app.
expect_status 0 F run "$OCI" --exec /bin/sh -- -c 'echo "home=$HOME"'
grep -qx 'home=/home/app' "$T/out" || fail "HOME of the OCI fixture's user app: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$BB" --exec /bin/sh -- -c 'echo "home=$HOME"'
grep -qx 'home=/' "$T/out" || fail "HOME without /etc/passwd: $(cat "$T/out" "$T/err")"
expect_status 0 F run "$OCI" --environment HOME=/custom --exec /bin/sh -- -c 'echo "home=$HOME"'
grep -qx 'home=/custom' "$T/out" || fail "an app's own HOME: $(cat "$T/out" "$T/err")"
if command -v script >/dev/null; then
  cmd=$(printf '%q ' "$FERRY" --dir "$D" --insecure-options=image run --interactive "$BB" \
    --exec /bin/sh -- -c 'echo "term=$TERM"')
  TERM=vt100 SHELL=/bin/bash timeout 60 script -qec "$cmd" /dev/null </dev/null >"$T/tty.out" 2>&1 || true
  # script(1) sends its end-of-file character (^D) as soon as its stdin (/dev/null) ends; while
  # ferry's terminal is still canonical the line discipline queues it as an empty line, which the
  # switch to raw mode turns into a NUL byte that reaches the pod's terminal and is echoed "^@".
  tr -d '\r' <"$T/tty.out" | sed 's/^\^@//' | grep -qx 'term=vt100' ||
    fail "--interactive TERM: $(cat "$T/tty.out")"
fi
ok "HOME from the image's /etc/passwd (or /), an app's own kept; --interactive passes TERM on"

# --- rkt's --oom-score-adj (ferry's --oom-score-adjust stays).
expect_status 0 F run "$BB" --oom-score-adj 500 --exec /bin/sh -- -c 'cat /proc/self/oom_score_adj'
grep -qx 500 "$T/out" || fail "--oom-score-adj: $(cat "$T/out" "$T/err")"
ok "--oom-score-adj (rkt's spelling)"

# --- --set-env-file with a shell's export lines.
printf 'export C=3\nexport\tD=4\nE=5\n' >"$T/env"
expect_status 0 F run --set-env-file="$T/env" "$BB" --exec /bin/sh -- -c 'echo "C=$C D=$D E=$E"'
grep -qx 'C=3 D=4 E=5' "$T/out" || fail "export lines: $(cat "$T/out" "$T/err")"
ok "--set-env-file takes export NAME=VALUE lines"

# --- --uuid-file-save to a path that cannot be written: one line, no pod left behind.
pods_before=$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)
for cmd in run prepare; do
  expect_status 254 F "$cmd" --uuid-file-save="$T/no-such-dir/app.uuid" "$BB"
  one_line "$cmd --uuid-file-save to a missing directory"
  grep -q -- '--uuid-file-save' "$T/err" && grep -q 'no-such-dir' "$T/err" ||
    fail "$cmd --uuid-file-save error: $(cat "$T/err")"
  [ "$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)" -eq "$pods_before" ] ||
    fail "$cmd --uuid-file-save to a bad path left a pod: $(ls -R "$D/pods")"
done
(cd "$T" && expect_status 0 F prepare --uuid-file-save=bare.uuid "$BB")
[ "$(cat "$T/bare.uuid")" = "$(cat "$T/out")" ] || fail "--uuid-file-save to a bare file name"
ok "--uuid-file-save to a bad path: one line, no pod left; a bare file name works"

# --- rkt's unit file with s/rkt/ferry/ (rkt's Documentation/using-rkt-with-systemd.md):
#   ExecStart=ferry run --uuid-file-save=%t/app.uuid IMAGE
#   ExecStop=ferry stop --uuid-file=%t/app.uuid
#   ExecStopPost=ferry gc --mark-only
# and the other commands a script drives by the same file.
U=$T/run/app.uuid
mkdir -p "$T/run"
"$FERRY" --dir "$D" --insecure-options=image run --uuid-file-save="$U" "$BB" --exec /bin/sh -- -c 'echo started; exec sleep 600' \
  >"$T/unit.out" 2>&1 &
bg+=($!)
wait_for "the pod's uuid file" test -s "$U"
uuid=$(cat "$U")
wait_for "the pod to run" sh -c "'$FERRY' --dir '$D' status --uuid-file='$U' | grep -qx state=running"
expect_status 0 F cat-manifest --uuid-file="$U"
jq -e '.acKind == "PodManifest"' "$T/out" >/dev/null || fail "cat-manifest --uuid-file: $(cat "$T/out")"
wait_for "the app's log" sh -c "'$FERRY' --dir '$D' logs --uuid-file='$U' | grep -qx started"
expect_status 0 F enter --uuid-file="$U" /bin/busybox echo entered
grep -qx entered "$T/out" || fail "enter --uuid-file: $(cat "$T/out" "$T/err")"
# With a terminal on stdin (script(1)), the command's stdin is a pty of the pod's and TERM the
# caller's; without one, no terminal.
if command -v script >/dev/null; then
  cmd=$(printf '%q ' "$FERRY" --dir "$D" enter "$uuid" /bin/sh -c 'tty; echo "term=$TERM"')
  TERM=vt100 SHELL=/bin/bash timeout 60 script -qec "$cmd" /dev/null </dev/null >"$T/tty.out" 2>&1 || true
  # (script's ^D, turned into a NUL by the raw switch, may be echoed "^@", more than once when
  # the command starts slowly (kvm): see --interactive)
  tr -d '\r' <"$T/tty.out" | sed 's/^\(\^@\)*//' >"$T/tty.txt"
  grep -qx '/dev/pts/[0-9]*' "$T/tty.txt" && grep -qx 'term=vt100' "$T/tty.txt" ||
    fail "enter with a terminal: $(cat "$T/tty.out")"
  expect_status 1 F enter "$uuid" /bin/sh -c tty
  grep -qx 'not a tty' "$T/out" || fail "enter without a terminal: $(cat "$T/out")"
  ok "enter: tty is a pty of the pod's and TERM is set with a terminal; not a tty without one"
fi
expect_status 2 F status --uuid-file="$U" "$uuid"
one_line "--uuid-file and a UUID"
expect_status 254 F status --uuid-file="$T/run/missing.uuid"
one_line "a missing --uuid-file"
grep -q 'missing.uuid' "$T/err" || fail "missing --uuid-file not named: $(cat "$T/err")"
expect_status 0 F stop --uuid-file="$U"
grep -qx "$uuid" "$T/out" || fail "stop --uuid-file printed $(cat "$T/out")"
wait_for "the pod to exit" sh -c "'$FERRY' --dir '$D' status --uuid-file='$U' | grep -qx exited=true"
expect_status 0 F gc --mark-only
grep -qx "Moved pod $uuid to garbage" "$T/out" || fail "gc --mark-only: $(cat "$T/out")"
[ -d "$D/pods/exited-garbage/$uuid" ] || fail "gc --mark-only did not mark the pod"
expect_status 0 F gc --mark-only --grace-period=0s
[ -d "$D/pods/exited-garbage/$uuid" ] || fail "gc --mark-only --grace-period=0s deleted the pod"
expect_status 0 F status --uuid-file="$U"
grep -qx 'state=exited garbage' "$T/out" || fail "status after mark: $(cat "$T/out")"
expect_status 0 F rm --uuid-file="$U"
grep -qx "$uuid" "$T/out" || fail "rm --uuid-file printed $(cat "$T/out")"
[ ! -e "$D/pods/exited-garbage/$uuid" ] || fail "rm --uuid-file left the pod"
ok "rkt's unit file and scripts: --uuid-file on status, cat-manifest, logs, enter, stop, rm; gc --mark-only marks and deletes nothing"

# --- `ferry run` killed by SIGKILL: the pod and its apps are over, and status says how.
# ferry itself in the background (not through the function F, whose subshell $! would name).
"$FERRY" --dir "$D" --insecure-options=image run --uuid-file-save="$T/k9.uuid" "$BB" --name victim --exec /bin/sh -- -c 'exec sleep 600' \
  >/dev/null 2>&1 &
k9=$!
wait_for "the k9 pod's uuid file" test -s "$T/k9.uuid"
wait_for "the k9 pod to run" sh -c "'$FERRY' --dir '$D' status --uuid-file='$T/k9.uuid' | grep -qx 'app-victim=running'"
kill -KILL "$k9"
wait "$k9" 2>/dev/null || true
wait_for "the k9 pod to end" sh -c "'$FERRY' --dir '$D' status --uuid-file='$T/k9.uuid' | grep -qx exited=true"
expect_status 0 F status --uuid-file="$T/k9.uuid"
grep -qx 'app-victim=signal:SIGKILL' "$T/out" && grep -qx 'exit=137' "$T/out" ||
  fail "status after kill -9 of ferry run: $(cat "$T/out")"
expect_status 0 F --format=json status --uuid-file="$T/k9.uuid"
jq -e '.exitCode == 137 and .apps[0].state == "exited" and .apps[0].signal == "SIGKILL"' "$T/out" >/dev/null ||
  fail "status JSON after kill -9: $(cat "$T/out")"
expect_status 0 F --format=json list
jq -e 'all(.[]; (.createdAt | type) == "string" and (.createdAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z$")))' "$T/out" >/dev/null ||
  fail "list --format=json times are not RFC 3339: $(head -c 600 "$T/out")"
ok "after kill -9 of ferry run: exited, exit=137, the app killed by SIGKILL (not running)"

# --- Tables: aligned columns (no tabs), an EXIT column with each app's exit status.
expect_status 3 F run --uuid-file-save="$T/x3.uuid" "$BB" --name three --exec /bin/sh -- -c 'exit 3'
expect_status 0 F list
table_aligned "$T/out" 9
head -1 "$T/out" | grep -q '^UUID  *APP  *IMAGE NAME  *STATE  *EXIT  ' || fail "list legend: $(head -1 "$T/out")"
awk -v u="$(cut -c1-8 "$T/x3.uuid")" '$1 == u {print $2, $4, $5}' "$T/out" | grep -qx 'three exited 3' ||
  fail "list EXIT of an app that exited 3: $(cat "$T/out")"
awk -v u="$(cut -c1-8 "$T/k9.uuid")" '$1 == u {print $5}' "$T/out" | grep -qx 'signal:SIGKILL' ||
  fail "list EXIT of an app killed by SIGKILL: $(cat "$T/out")"
expect_status 0 F list --full
table_aligned "$T/out" 10
expect_status 0 F list --no-legend
! grep -q '^UUID' "$T/out" || fail "list --no-legend: $(cat "$T/out")"
ok "list: aligned columns, EXIT (3, signal:SIGKILL), --full and --no-legend"
expect_status 0 F list -q
grep -qx "$(cat "$T/x3.uuid")" "$T/out" && ! grep -qv '^[0-9a-f-]\{36\}$' "$T/out" ||
  fail "list -q: $(cat "$T/out")"
expect_status 0 F image list --quiet
! grep -qv '^sha\(512-\|256:\)[0-9a-f]*$' "$T/out" && [ -s "$T/out" ] || fail "image list --quiet: $(cat "$T/out")"
ok "list -q and image list --quiet: full UUIDs and image IDs only"

# --- logs --tail N: the last N lines of each app (a last line without newline counts).
expect_status 0 F run --uuid-file-save="$T/lines.uuid" "$BB" --name one --exec /bin/sh -- \
  -c 'for i in 1 2 3 4 5; do echo "line $i"; done' --- "$BB" --name two --exec /bin/sh -- \
  -c 'echo "two 1"; printf "two 2"'
expect_status 0 F logs --app one --tail 2 --uuid-file="$T/lines.uuid"
[ "$(cat "$T/out")" = "$(printf 'line 4\nline 5')" ] || fail "logs --tail 2: $(cat "$T/out")"
expect_status 0 F logs --app one --tail=0 --uuid-file="$T/lines.uuid"
[ ! -s "$T/out" ] || fail "logs --tail=0: $(cat "$T/out")"
expect_status 0 F logs --app one --tail 9 --uuid-file="$T/lines.uuid"
[ "$(wc -l <"$T/out")" -eq 5 ] || fail "logs --tail 9 of 5 lines: $(cat "$T/out")"
expect_status 0 F logs --tail 1 --uuid-file="$T/lines.uuid"
grep -qx '\[one\] line 5' "$T/out" && grep -qx '\[two\] two 2' "$T/out" && [ "$(wc -l <"$T/out")" -eq 2 ] ||
  fail "logs --tail 1 of two apps: $(cat "$T/out")"
expect_status 2 F logs --tail=-1 --uuid-file="$T/lines.uuid"
one_line "logs --tail=-1"
ok "logs --tail N: the last N lines of each app"

# --- logs --timestamps / --since: each line at the time the init wrote it (logs/<app>.log.times).
expect_status 0 F run --uuid-file-save="$T/timed.uuid" "$BB" --exec /bin/sh -- \
  -c 'echo early; sleep 2; echo late'
expect_status 0 F logs --timestamps --uuid-file="$T/timed.uuid"
grep -qE '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{9}Z early$' "$T/out" && grep -qE ' late$' "$T/out" ||
  fail "logs --timestamps: $(cat "$T/out")"
python3 - "$T/out" >"$T/mid" <<'PY' || fail "logs --timestamps: the lines are not 2 s apart: $(cat "$T/out")"
import sys, datetime
t = [datetime.datetime.strptime(l.split()[0][:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ") for l in open(sys.argv[1])]
assert len(t) == 2 and (t[1] - t[0]).total_seconds() >= 1.5, t
print((t[0] + (t[1] - t[0]) / 2).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
PY
expect_status 0 F logs --since "$(cat "$T/mid")" --uuid-file="$T/timed.uuid"
[ "$(cat "$T/out")" = late ] || fail "logs --since $(cat "$T/mid"): $(cat "$T/out")"
expect_status 0 F logs --since 1h --uuid-file="$T/timed.uuid"
[ "$(cat "$T/out")" = "$(printf 'early\nlate')" ] || fail "logs --since 1h: $(cat "$T/out")"
expect_status 2 F logs --since yesterday --uuid-file="$T/timed.uuid"
one_line "logs --since yesterday"
ok "logs --timestamps (RFC 3339, the time each line was written) and --since (a duration or a time)"

echo "$checks passed, 0 failed"
