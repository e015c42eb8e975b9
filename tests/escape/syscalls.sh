#!/usr/bin/env bash
# Kernel interfaces an app has no business with, made from a pod with the default capabilities
# and the default seccomp filter: keyrings (keyctl, add_key, request_key), bpf(2),
# perf_event_open, userfaultfd, io_uring, kexec, the kernel log (syslog(2)), the new mount API
# (fsopen, open_tree) and ptrace of the pod's init. Each must be refused. The control runs the
# same probes with the filter off (--seccomp=mode=retain,@appc.io/all): what the kernel alone
# lets through then shows which refusals are the filter's (io_uring and keyctl here), so the
# check above could fail.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

calls="keyctl add_key request_key bpf perf_event_open userfaultfd io_uring kexec_load kexec_file_load syslog fsopen open_tree"
img=$(hostile_image syscalls "{\"exec\":[\"/bin/sh\",\"-c\",\"for c in $calls; do /probe/sys \$c; done; /probe/sys ptrace 1; exit 0\"],\"user\":\"0\",\"group\":\"0\"}")

run_pod "default filter" "$img"
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the pod exited $st"; }
for want in keyctl add_key request_key "bpf map create" perf_event_open userfaultfd io_uring_setup \
  kexec_load kexec_file_load "syslog read" "fsopen tmpfs" "open_tree clone" "ptrace attach"; do
  grep -q "^denied $want " "$T/out" || { cat "$T/out" >&2; fail "$want was not refused"; }
  ok "$want: $(grep "^denied $want " "$T/out" | sed 's/.*(//; s/)$//')"
done
host_unchanged "syscall probes"

# The control: the same pod without a seccomp filter.
run_pod "no filter" "$img" --seccomp=mode=retain,@appc.io/all
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the control pod exited $st"; }
grep -q '^ok keyctl' "$T/out" || { cat "$T/out" >&2; fail "control: keyctl was refused without a filter"; }
ok "control: without the filter keyctl works (the refusal above is the filter's)"
if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]; then
  grep -q '^ok io_uring_setup' "$T/out" || { cat "$T/out" >&2; fail "control: io_uring was refused without a filter"; }
  ok "control: without the filter io_uring_setup works"
fi
grep -q '^denied ptrace attach' "$T/out" || { cat "$T/out" >&2; fail "control: the app could ptrace the pod init without CAP_SYS_PTRACE"; }
ok "control: ptrace of the init stays refused by the kernel (no CAP_SYS_PTRACE)"
host_unchanged "syscall probes without a filter"
echo "escape.syscalls: $checks checks passed"
