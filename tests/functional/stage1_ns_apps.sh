#!/usr/bin/env bash
# The ns stage1 runs a pod of two apps: start order, event handlers, exit code propagation,
# logs (prefixed on the terminal, kept in logs/), status files, ready/pid/exit, clean teardown.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"

# Two apps: the first fails with 7 after the second started; the second would run for a long
# time and is stopped by the pod init (SIGTERM) because the first failed.
P=$T/two
new_pod "$P" --hostname pod-two \
  --app first --tree "$T/tree" \
  --exec '["sh","-c","echo first-out; echo first-err >&2; echo host=$(hostname); sleep 0.5; exit 7"]' \
  --pre-start '["sh","-c","echo pre-first"]' --post-stop '["sh","-c","echo post-first"]' \
  --app second --tree "$T/tree" \
  --exec '["sh","-c","trap \"echo second-term; exit 0\" TERM; echo second-up; while :; do sleep 0.1; done"]' \
  --post-stop '["sh","-c","echo post-second"]'
set +e
run_pod "$P"
code=$?
set -e
[ "$code" -eq 7 ] || { cat "$P.err" >&2; fail "pod exited $code, want 7 (the first failing app's)"; }
ok "exit code of the first failing app propagates (7)"
[ "$(cat "$P/exit")" = 7 ] || fail "exit file holds $(cat "$P/exit")"
ok "exit file"
[ -e "$P/ready" ] || fail "no ready file"
ok "ready file"
grep -qx '[1-9][0-9]*' "$P/pid" || fail "pid file: $(cat "$P/pid")"
ok "pid file"

grep -qx '\[first\] first-out' "$P.out" || { cat "$P.out" >&2; fail "no prefixed stdout line"; }
grep -qx '\[first\] first-err' "$P.err" || { cat "$P.err" >&2; fail "no prefixed stderr line"; }
grep -qx '\[second\] second-up' "$P.out" || fail "second app's output missing"
ok "stdout and stderr relayed with app prefixes"
for want in pre-first first-out first-err host=pod-two post-first; do
  grep -qx "$want" "$P/logs/first.log" || { cat "$P/logs/first.log" >&2; fail "first.log lacks $want"; }
done
for want in second-up second-term post-second; do
  grep -qx "$want" "$P/logs/second.log" || { cat "$P/logs/second.log" >&2; fail "second.log lacks $want"; }
done
ok "logs keep each app's output, handlers included, hostname set"
# Start order: the first app's pre-start ran before the second app started.
[ "$(head -1 "$P/logs/first.log")" = pre-first ] || fail "pre-start did not run first"

S=$P/status/first.json
expect_field "$S" state exited
expect_field "$S" exitCode 7
expect_field "$S" signal null
expect_field "$S" oomKilled false
S=$P/status/second.json
expect_field "$S" state exited
expect_field "$S" exitCode 0
[ "$(json_get "$P/status/first.json" startedAt)" -le "$(json_get "$S" startedAt)" ] ||
  fail "apps did not start in order"
[ "$(json_get "$S" finishedAt)" -ge "$(json_get "$S" startedAt)" ] || fail "finishedAt < startedAt"
ok "status files: states, exit codes, times"
expect_clean "$P" "two-app pod"

# One app, killed by a signal: 128 + the signal, no prefix on the terminal.
P=$T/sig
new_pod "$P" --app only --tree "$T/tree" --exec '["sh","-c","echo alone; kill -KILL $$"]'
set +e
run_pod "$P"
code=$?
set -e
[ "$code" -eq 137 ] || { cat "$P.err" >&2; fail "pod exited $code, want 137"; }
expect_field "$P/status/only.json" signal SIGKILL
expect_field "$P/status/only.json" exitCode null
grep -qx alone "$P.out" || { cat "$P.out" >&2; fail "single app output is prefixed or missing"; }
ok "a signalled app gives 128+signal; a single app is not prefixed"

# All apps succeed: 0. A failing pre-start fails its app and the pod, the app never starts.
P=$T/ok
new_pod "$P" --app a --tree "$T/tree" --exec '["true"]' --app b --tree "$T/tree" --exec '["true"]'
expect_status 0 run_pod "$P"
P=$T/pre
new_pod "$P" --app a --tree "$T/tree" --exec '["sh","-c","echo must-not-run"]' \
  --pre-start '["sh","-c","exit 5"]' --post-stop '["sh","-c","echo must-not-run-either"]'
set +e
run_pod "$P"
code=$?
set -e
[ "$code" -eq 5 ] || fail "failing pre-start: pod exited $code, want 5"
! grep -q must-not-run "$P/logs/a.log" || fail "the app or its post-stop ran after a failed pre-start"
expect_field "$P/status/a.json" startedAt null
[ ! -e "$P/ready" ] || fail "ready although an app never started"
ok "all succeed → 0; failed pre-start → its code, app not started, no ready"

expect_clean "$P" "pod whose pre-start failed"

# Interactive: the app gets the stage1's stdin and stdout directly, no log file.
P=$T/tty
new_pod "$P" --interactive --app a --tree "$T/tree" --exec '["sh","-c","read line; echo got-$line"]'
echo typed | run_pod "$P" || fail "interactive pod failed: $(cat "$P.err")"
grep -qx got-typed "$P.out" || fail "interactive app: $(cat "$P.out")"
[ ! -e "$P/logs/a.log" ] || fail "an interactive app has a log file"
ok "interactive: the app reads the stage1's stdin and writes to its stdout"

# A stage1 failure (an app's tree is missing) is one line and 254, and leaves nothing behind.
P=$T/notree
new_pod "$P" --app a --tree "$T/no-such-tree" --exec '["true"]'
expect_status 254 run_pod "$P"
[ "$(wc -l <"$P.err")" -eq 1 ] || { cat "$P.err" >&2; fail "not one line of error"; }
grep -q "no-such-tree" "$P.err" || fail "the error does not name the tree: $(cat "$P.err")"
[ ! -e "$P/pid" ] || fail "pid written for a pod that never started"
expect_clean "$P" "failed start ($(cat "$P.err"))"
