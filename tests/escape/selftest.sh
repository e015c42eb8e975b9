#!/usr/bin/env bash
# The suite's own harness, checked both ways: a probe reports what the kernel allows (it can
# write the pod's own /tmp) and what it refuses (a write below read-only /proc/sys), and
# host_unchanged notices a changed canary (a check that could never fail would prove nothing).
source "$(dirname "$0")/escape_lib.sh"
escape_setup

img=$(hostile_image selftest '{"exec":["/bin/sh","-c","/probe/probe write /tmp/x hi; /probe/probe write /proc/sys/kernel/hostname evil; exit 0"],"user":"0","group":"0"}')
run_pod "selftest" "$img"
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the selftest pod exited $st"; }
grep -q '^ok /tmp/x' "$T/out" || { cat "$T/out" >&2; fail "the probe could not write the pod's /tmp"; }
ok "a probe reports a write the pod may make"
grep -q '^denied /proc/sys/kernel/hostname' "$T/out" || { cat "$T/out" >&2; fail "the probe wrote /proc/sys"; }
ok "a probe reports a write the kernel refuses"
host_unchanged "selftest pod"
ok "host_unchanged passes when nothing changed"
echo changed >"$C/file"
if (host_unchanged "a changed canary") 2>/dev/null; then fail "host_unchanged missed a changed canary"; fi
ok "host_unchanged fails on a changed canary"
echo "escape.selftest: $checks checks passed"
