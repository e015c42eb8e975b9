#!/usr/bin/env bash
# Kernel knobs reachable through pseudo file systems, from a root app with the default
# capabilities: writes below /proc/sys (core_pattern is the classic way to host root), the sysrq
# trigger, /sys (read-only: uevent_helper, /sys/kernel, /sys/class), the masked /proc files
# (kcore, keys, timer_list, …: unreadable or empty), and cgroupfs (CVE-2022-0492: a writable
# release_agent or notify_on_release runs a program as host root; no cgroup file may be
# writable, and no cgroup may be made: the app's own cgroups are mounted read-only at
# /sys/fs/cgroup, in a cgroup namespace rooted at them, and nothing else of the host's is
# there). Nothing is written when a refusal fails: files are opened for writing only, and the
# one real write puts back the value the host has. The host's sysctls and release agents are
# compared before and after.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

burst=$(cat /proc/sys/kernel/printk_ratelimit_burst)
agents() { cat /sys/fs/cgroup/*/release_agent 2>/dev/null | md5sum; }
agents_before=$(agents)
sysctls() { cat /proc/sys/kernel/core_pattern /proc/sys/kernel/printk_ratelimit_burst /proc/sys/vm/overcommit_memory; }
sysctls_before=$(sysctls)

script='for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/vm/drop_caches /proc/sysrq-trigger /sys/kernel/uevent_helper /sys/kernel/mm/transparent_hugepage/enabled /sys/class/net/lo/mtu /sys/power/state; do /probe/sys open-w $f; done
/probe/probe write /proc/sys/kernel/printk_ratelimit_burst '"$burst"'
for f in /proc/kcore /proc/kmsg /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug /proc/timer_stats; do /probe/probe read $f; done
for d in /proc/acpi /proc/scsi /sys/firmware; do echo "dir $d: $(ls -A $d 2>/dev/null | busybox wc -l)"; done
for f in $(busybox find /sys/fs/cgroup /proc/self -name release_agent -o -name notify_on_release -o -name cgroup.procs -o -name tasks -o -name memory.limit_in_bytes -o -name memory.max -o -name cpu.max -o -name cpu.cfs_quota_us -o -name pids.max -o -name devices.allow 2>/dev/null); do /probe/sys open-w $f; done
echo "cgroup files: $(busybox find /sys/fs/cgroup 2>/dev/null | busybox wc -l)"
echo "cgroup limit files: $(busybox find /sys/fs/cgroup -maxdepth 2 -name memory.limit_in_bytes -o -maxdepth 2 -name memory.max | busybox wc -l)"
echo "cgroup paths: $(busybox cut -d: -f3 /proc/self/cgroup | busybox sort -u | busybox tr "\n" " ")"
echo "cgroups below: $(busybox find /sys/fs/cgroup -mindepth 2 -type d | busybox wc -l)"
mkdir /sys/fs/cgroup/escape 2>&1 && echo "ok mkdir cgroup" || echo "denied mkdir cgroup"
/probe/sys open-w /proc/self/comm
exit 0'
app=$(jq -cn --arg s "$script" '{exec:["/bin/sh","-c",$s],user:"0",group:"0"}')
img=$(hostile_image proc-sys "$app")
run_pod "pseudo file systems" "$img"
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the pod exited $st"; }

# Control first: the probe opens a writable /proc file (its own comm).
grep -q '^ok /proc/self/comm' "$T/out" || { cat "$T/out" >&2; fail "control: the probe could not open /proc/self/comm for writing"; }
ok "control: the probe opens the app's own /proc/self/comm for writing"
for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/modprobe /proc/sys/vm/drop_caches /proc/sysrq-trigger \
  /sys/kernel/uevent_helper /sys/kernel/mm/transparent_hugepage/enabled /sys/class/net/lo/mtu /sys/power/state \
  /proc/sys/kernel/printk_ratelimit_burst; do
  line=$(grep "^[a-z]* $f\b" "$T/out") || { cat "$T/out" >&2; fail "no probe line for $f"; }
  case $line in
  denied*) ok "write $f: $(echo "$line" | sed "s/.*(//; s/)$//")" ;;
  *) fail "the pod could open $f for writing: $line" ;;
  esac
done
for f in /proc/kcore /proc/kmsg /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug /proc/timer_stats; do
  line=$(grep "^[a-z]* $f\b" "$T/out") || fail "no probe line for $f"
  case $line in
  denied*) ok "read $f: $(echo "$line" | sed "s/.*(//; s/)$//")" ;;
  "ok $f: ") ok "read $f: empty (masked)" ;;
  *) fail "the pod read $f: $line" ;;
  esac
done
for d in /proc/acpi /proc/scsi /sys/firmware; do
  grep -qx "dir $d: 0" "$T/out" || fail "$d is not empty in the pod: $(grep "^dir $d" "$T/out")"
done
ok "/proc/acpi, /proc/scsi and /sys/firmware are empty"
if grep '^ok /' "$T/out" | grep -v '^ok /proc/self/comm' | grep -v ': $' | grep -q .; then
  grep '^ok /' "$T/out" >&2
  fail "a cgroup or pseudo file was writable or readable"
fi
grep -q '^denied mkdir cgroup' "$T/out" || fail "the pod made a cgroup: $(grep mkdir "$T/out")"
# Control: the app sees its own cgroups (its memory limit file), so the writes above were tried.
grep -q '^cgroup limit files: [1-9]' "$T/out" || fail "the pod does not see its own cgroups: $(grep '^cgroup' "$T/out")"
ok "no cgroup file is writable ($(grep '^cgroup files' "$T/out"), the app's own limits among them); no cgroup can be made"
# Namespaced: /proc/self/cgroup says "/" everywhere, and no cgroup but the app's own is there.
grep -qx 'cgroup paths: / ' "$T/out" || fail "the pod's cgroup namespace: $(grep '^cgroup paths' "$T/out")"
grep -qx 'cgroups below: 0' "$T/out" || fail "other cgroups are visible: $(grep '^cgroups below' "$T/out")"
ok "the pod sees only its own cgroups (/proc/self/cgroup rooted there, no other cgroup in /sys/fs/cgroup)"
[ "$(agents)" = "$agents_before" ] || fail "a host release_agent changed"
[ "$(sysctls)" = "$sysctls_before" ] || fail "a host sysctl changed"
ok "the host's release agents and sysctls are as they were"
host_unchanged "pseudo file systems"
echo "escape.proc_sys: $checks checks passed"
