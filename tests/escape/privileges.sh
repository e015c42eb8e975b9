#!/usr/bin/env bash
# Privileges beyond appc's defaults come from the operator only (SECURITY.md; issue 9, findings
# 4, 5, 8 and the masked paths of 9). A hostile image asks for host sysctls and capabilities:
# each request is refused in one line before a pod exists, and the host's sysctls stay as they
# were; the operator's grant (--sysctl, --caps-retain, --insecure-options) then works. A
# uid-1000 app cannot become root through a setuid-root binary (no_new_privs, also in `ferry
# enter`) unless the operator switches that off. /proc and /sys paths that leak host state read
# empty.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

# Host sysctls a hostile image goes for: saved, compared after every attempt, and restored at
# exit should a broken ferry have written them.
declare -A saved
for k in kernel/core_pattern kernel/printk_ratelimit_burst net/core/somaxconn kernel/shmmax; do
  saved[$k]=$(cat /proc/sys/$k)
done
restore_sysctls() {
  local k
  for k in "${!saved[@]}"; do
    [ "$(cat /proc/sys/$k)" = "${saved[$k]}" ] || echo "${saved[$k]}" >/proc/sys/$k || true
  done
  pods_cleanup
}
trap restore_sysctls EXIT
sysctls_unchanged() { # WHAT
  local k
  for k in "${!saved[@]}"; do
    [ "$(cat /proc/sys/$k)" = "${saved[$k]}" ] || fail "$1: the host's $k changed to $(cat /proc/sys/$k)"
  done
}
pods() { F list --no-legend --full | wc -l; }
# refused WHAT PATTERN RUN-ARGS...: the run fails (254) with one line matching PATTERN, no pod
# is left behind and the host is as it was.
refused() {
  local what=$1 pattern=$2 before
  shift 2
  before=$(pods)
  run_pod "$what" "$@"
  [ "$st" -eq 254 ] || { cat "$T/out" "$T/err" >&2; fail "$what: the run exited $st, want 254"; }
  one_line "$what"
  grep -qE -- "$pattern" "$T/err" || { cat "$T/err" >&2; fail "$what: the refusal does not say /$pattern/"; }
  [ "$(pods)" = "$before" ] || { F list >&2; fail "$what: a pod was left behind"; }
  sysctls_unchanged "$what"
  host_unchanged "$what"
}
ran() { # WHAT: the last run_pod exited 0
  [ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "$1: the run exited $st"; }
}
has_cap() { (((0x$1 >> $2) & 1)); } # CAPEFF-HEX BIT

# --- finding 4: sysctls
burst=$((${saved[kernel/printk_ratelimit_burst]} + 1))
somax=$((${saved[net/core/somaxconn]} + 1))
shmmax=1073741824
[ "${saved[kernel/shmmax]}" != $shmmax ] || shmmax=1073745920
sysctl_image() { # NAME SYSCTL-JSON
  hostile_image "$1" '{"exec":["/bin/sh","-c","cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax"],"user":"0","group":"0","isolators":[{"name":"os/unix/sysctl","value":'"$2"'}]}'
}
core=$(sysctl_image core '{"kernel.core_pattern":"ferry-escape-core"}')
refused "an image's kernel.core_pattern" 'sysctl kernel.core_pattern' "$core"
ok "an image's kernel.core_pattern is refused before a pod exists"
refused "an operator's kernel.core_pattern" 'cannot set sysctl kernel.core_pattern: it is not namespaced' \
  "$core" --sysctl kernel.core_pattern=ferry-escape-core
ok "kernel.core_pattern is refused even from the operator: it is the host's"
printk=$(sysctl_image printk '{"kernel.printk_ratelimit_burst":"'$burst'"}')
refused "an image's kernel.printk_ratelimit_burst" 'sysctl kernel.printk_ratelimit_burst.*--sysctl' "$printk"
refused "a granted kernel.printk_ratelimit_burst" 'not namespaced' "$printk" --sysctl kernel.printk_ratelimit_burst
ok "kernel.printk_ratelimit_burst is refused, granted or not, and the host's value stays"
net=$(sysctl_image net '{"net.core.somaxconn":"'$somax'"}')
refused "an image's net.core.somaxconn" 'image sets sysctl net.core.somaxconn=.*--sysctl net.core.somaxconn' "$net"
ok "an image's net.* sysctl needs the operator"
if applies_on_stage1 kvm "no --net=host: every kvm pod's network is its guest's"; then
  refused "net.* with --net=host" 'net.core.somaxconn with --net=host' --net=host "$net" --sysctl net.core.somaxconn
  ok "a granted net.* sysctl never applies with --net=host"
fi
if applies_on_stage1 fly "the pod's network and IPC namespaces are the host's: no sysctl is the pod's"; then
  run_pod "a granted net.core.somaxconn" "$net" --sysctl 'net.core.*' --sysctl kernel.shmmax=$shmmax
  ran "a granted net.core.somaxconn"
  [ "$(cat "$T/out")" = "$(printf '%s\n%s' $somax $shmmax)" ] || { cat "$T/out" >&2; fail "the granted sysctls are not set in the pod"; }
  sysctls_unchanged "a granted namespaced sysctl"
  ok "operator-granted namespaced sysctls are set in the pod, not on the host"
else
  ipc=$(sysctl_image ipc '{"kernel.shmmax":"'$shmmax'"}')
  # Refused by stage0 from fly's descriptor ("sysctl": false), before a pod exists.
  refused "a granted kernel.shmmax on fly" 'stage1 "fly" does not offer sysctls: .*kernel.shmmax: .*host.s IPC' \
    "$ipc" --sysctl kernel.shmmax
  ok "fly: a granted IPC sysctl is refused before a pod exists (the pod's IPC namespace is the host's); the host's value stays"
fi

# --- finding 5: capabilities
for cap in CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_SYS_MODULE; do
  img=$(hostile_image "retain-${cap,,}" '{"exec":["/probe/ids"],"user":"0","group":"0","isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN","'$cap'"]}}]}')
  refused "an image retaining $cap" "the image asks for $cap.*--caps-retain.*--insecure-options=capabilities" "$img"
done
ok "an image's retain set beyond appc's defaults is refused, naming the capability and the flags"
within=$(hostile_image retain-within '{"exec":["/probe/ids"],"user":"0","group":"0","isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN","CAP_KILL"]}}]}')
run_pod "a retain set within the defaults" "$within"
ran "a retain set within the defaults"
grep -q 'capeff=0*21$' "$T/out" || { cat "$T/out" >&2; fail "a retain set within the defaults is not what the app holds"; }
ok "an image's retain set within the defaults is honoured"
run_pod "--caps-retain CAP_SYS_PTRACE" "$img" --caps-retain=CAP_SYS_PTRACE,CAP_CHOWN
ran "--caps-retain CAP_SYS_PTRACE"
e=$(sed -n 's/.*capeff=//p' "$T/out")
has_cap "$e" 16 && fail "--caps-retain CAP_SYS_PTRACE gave CAP_SYS_MODULE too ($e)"
has_cap "$e" 19 || fail "--caps-retain CAP_SYS_PTRACE: not in the app's CapEff ($e)"
ok "the operator's --caps-retain grants a capability (and replaces the image's set)"
admin=$(hostile_image retain-admin2 '{"exec":["/probe/ids"],"user":"0","group":"0","isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_SYS_ADMIN"]}}]}')
run_pod "--insecure-options=capabilities" --insecure-options=image,capabilities "$admin"
ran "--insecure-options=capabilities"
e=$(sed -n 's/.*capeff=//p' "$T/out")
has_cap "$e" 21 || fail "--insecure-options=capabilities: CAP_SYS_ADMIN is not in the app's CapEff ($e)"
grep -c 'WARNING: --insecure-options.*every capability' "$T/err" | grep -qx 1 || { cat "$T/err" >&2; fail "--insecure-options=capabilities ran without one loud warning"; }
ok "--insecure-options=capabilities grants every capability, with one warning line"

# --- finding 8: no_new_privs
suid=$(hostile_image suid '{"exec":["/bin/ids-suid"],"user":"1000","group":"1000"}' \
  'cp probe/ids bin/ids-suid && chmod 4755 bin/ids-suid')
tar -tvzf "$suid" rootfs/bin/ids-suid | grep -q '^-rwsr-xr-x 0/0' || fail "the image's ids-suid is not setuid root"
run_pod "a uid-1000 app" "$suid"
ran "a uid-1000 app"
grep -q '^ruid=1000 euid=1000 nnp=1 ' "$T/out" || { cat "$T/out" >&2; fail "a uid-1000 app became $(cat "$T/out") through a setuid-root binary"; }
ok "a uid-1000 app stays uid 1000 through a setuid-root binary (no_new_privs)"
run_pod "--no-new-privs-for=isolator" --no-new-privs-for=isolator "$suid"
ran "--no-new-privs-for=isolator"
grep -q '^ruid=1000 euid=0 nnp=0 ' "$T/out" || { cat "$T/out" >&2; fail "with the switch off the setuid binary did not run as root"; }
FERRY_NO_NEW_PRIVS_FOR=isolator run_pod "FERRY_NO_NEW_PRIVS_FOR=isolator" "$suid"
grep -q '^ruid=1000 euid=0 nnp=0 ' "$T/out" || { cat "$T/out" >&2; fail "FERRY_NO_NEW_PRIVS_FOR=isolator did not switch it off"; }
ok "the switch (--no-new-privs-for, FERRY_NO_NEW_PRIVS_FOR) turns it off: then the binary gives euid 0"
run_pod "a root app" "$suid" --user 0 --group 0
grep -q '^ruid=0 euid=0 nnp=0 ' "$T/out" || { cat "$T/out" >&2; fail "a root app got no_new_privs without asking"; }
run_pod "a root app asking" "$suid" --user 0 --group 0 --no-new-privileges
grep -q '^ruid=0 euid=0 nnp=1 ' "$T/out" || { cat "$T/out" >&2; fail "--no-new-privileges did not apply to a root app"; }
ok "a root app keeps appc's rule: no_new_privs when its isolator asks"
F run --uuid-file-save="$T/u" "$suid" --exec /bin/sleep -- 60 >"$T/bg.out" 2>&1 &
bg+=($!)
wait_for "the pod to run" sh -c "[ -s '$T/u' ] && '$FERRY' --dir '$D' list --no-legend --full | grep -q \"\$(cat '$T/u').*running\""
sleep 0.2
expect_status 0 F enter "$(cat "$T/u")" /bin/ids-suid
grep -q '^ruid=1000 euid=1000 nnp=1 ' "$T/out" || { cat "$T/out" >&2; fail "ferry enter in a uid-1000 app became $(cat "$T/out")"; }
F stop --force "$(cat "$T/u")" >/dev/null
ok "ferry enter carries the app's no_new_privs"

# --- finding 9: masked paths
leaks="/proc/interrupts /proc/config.gz /proc/keys /proc/timer_list /proc/sched_debug /proc/kcore"
masked=$(hostile_image masked '{"exec":["/bin/sh","-c","for p in '"$leaks"'; do echo $p $(cat $p 2>/dev/null | head -c 64 | wc -c); done; ls /sys/firmware | wc -l"],"user":"0","group":"0"}')
# A masked path the kernel lacks (here often /sys/devices/virtual/powercap) is skipped: the pod
# starts all the same.
run_pod "masked paths" "$masked"
ran "masked paths"
for p in /proc/interrupts /proc/timer_list /proc/sched_debug; do
  [ -n "$(head -c1 "$p" 2>/dev/null | od -An -c)" ] || continue # /proc files stat as empty
  grep -qx "$p 0" "$T/out" || { cat "$T/out" >&2; fail "$p is readable in a pod"; }
done
if [ -e /proc/config.gz ]; then grep -qx "/proc/config.gz 0" "$T/out" || fail "/proc/config.gz is readable in a pod"; fi
[ "$(tail -n1 "$T/out")" = 0 ] || fail "/sys/firmware is not empty in a pod"
ok "/proc/interrupts, /proc/config.gz, /proc/timer_list, /proc/sched_debug, /sys/firmware read empty"
run_pod "--insecure-options=paths" --insecure-options=image,paths "$masked"
ran "--insecure-options=paths"
grep -qx "/proc/interrupts 0" "$T/out" && fail "--insecure-options=paths still masks /proc/interrupts"
grep -c 'WARNING: --insecure-options.*masked' "$T/err" | grep -qx 1 || { cat "$T/err" >&2; fail "--insecure-options=paths ran without one loud warning"; }
ok "--insecure-options=paths unmasks them, with one warning line"

# --- --insecure-options words
expect_status 2 "$FERRY" --dir "$D" --insecure-options=image,bogus list
grep -q 'unknown option "bogus".*capabilities.*all-run' "$T/err" || { cat "$T/err" >&2; fail "--insecure-options=bogus: no list of the valid words"; }
expect_status 2 "$FERRY" --dir "$D" run --insecure-options=capability "$masked"
ok "--insecure-options refuses an unknown word (exit 2) and lists the valid ones"
host_unchanged "the privileges suite"
echo "escape.privileges: $checks checks passed"
