#!/usr/bin/env bash
# Stopping a pod on the kvm stage1: `ferry stop` reaches the app in the guest (SIGTERM through
# the channel to the pod init) and the pod ends with the app's code; `stop --force` kills QEMU
# (the pod reads 137, its running app exited by SIGKILL); after `kill -9` of the run entrypoint
# QEMU and virtiofsd die with it and gc leaves no process, socket or mount. Each pod's QEMU and
# virtiofsd are counted while it runs, so "nothing left" is not vacuous.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
kvm_test_setup

F fetch "$BB" >/dev/null
kvm_leftovers >"$T/before"
waiter='trap "echo got-term; exit 0" TERM; echo up; while :; do /bin/busybox sleep 0.1; done'

# start_pod NAME [INPUT]: `ferry run` of the waiter in the background until it said "up"; $u,
# $run_pid. With INPUT: --interactive, stdin not a terminal: the app reads a line of INPUT first.
start_pod() {
  rm -f "$T/$1.u"
  if [ $# -gt 1 ]; then
    printf '%s\n' "$2" | F run --uuid-file-save="$T/$1.u" --interactive "$BB" --exec /bin/sh -- -c \
      "read line; echo got:\$line; $waiter" >"$T/$1.out" 2>"$T/$1.err" &
  else
    F run --uuid-file-save="$T/$1.u" "$BB" --exec /bin/sh -- -c "$waiter" >"$T/$1.out" 2>"$T/$1.err" &
  fi
  run_pid=$!
  bg+=($run_pid)
  local i
  for i in $(seq 1 3000); do
    grep -qx up "$T/$1.out" 2>/dev/null && break
    kill -0 "$run_pid" 2>/dev/null || { cat "$T/$1.err" >&2; fail "$1: the pod ended before it was up"; }
    sleep 0.1
  done
  grep -qx up "$T/$1.out" || fail "$1: not up within 300 s"
  u=$(cat "$T/$1.u")
}
wait_run() { # WANT WHAT
  set +e
  wait "$run_pid"
  local rc=$?
  set -e
  [ "$rc" -eq "$1" ] || fail "$2: the pod exited $rc, want $1: $(cat "$T/$2.out" "$T/$2.err")"
}
running_processes() { kvm_leftovers | awk '$1 == "processes" {print $2}'; }

start_pod graceful from-stdin
expect_status 0 F status "$u"
grep -qx state=running "$T/out" || fail "status while it runs: $(cat "$T/out")"
n=$(running_processes)
[ "$n" -ge 2 ] || fail "want QEMU and virtiofsd working in the pod directory, found $n processes"
qemu=$(cat "$D/pods/run/$u/pid")
grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$qemu/status" || fail "QEMU runs without its seccomp sandbox"
ok "a running pod: status running, QEMU (under its seccomp sandbox) and virtiofsd ($n processes)"
# QEMU without privileges, as the host sees it: its own uid and gid (not root's), no
# capabilities at all, no_new_privs, and mount and network namespaces that are not the host's.
st=/proc/$qemu/status
quid=$(awk '/^Uid:/ {print $2}' "$st")
awk '/^Uid:|^Gid:/ {for (i = 2; i <= 5; i++) if ($i != '"$quid"') exit 1}' "$st" && [ "$quid" -ne 0 ] ||
  fail "QEMU's uid/gid: $(grep -E '^(Uid|Gid):' "$st")"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
  grep -Eq "^$c:[[:space:]]+0+\$" "$st" || fail "QEMU's capabilities: $(grep "^$c:" "$st")"
done
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || fail "QEMU without no_new_privs"
[ -z "$(awk '/^Groups:/ {print $2}' "$st")" ] || fail "QEMU's groups: $(grep '^Groups:' "$st")"
for n in mnt net; do
  [ "$(readlink "/proc/$qemu/ns/$n")" != "$(readlink "/proc/self/ns/$n")" ] || fail "QEMU in the host's $n namespace"
done
! getent passwd "$quid" >/dev/null || fail "QEMU's uid $quid is a user's: $(getent passwd "$quid")"
ok "QEMU runs as uid/gid $quid (no user's), no capabilities, no_new_privs, its own mount and network namespaces"
# virtiofsd (QEMU's child: forked before QEMU's exec) and its sandbox's process: a user namespace
# of their own (the host's ids one to one: it serves each file as its owner), so that the
# capabilities it keeps count only there, within the set ferry leaves it (chown, dac_override,
# fowner, fsetid, setgid, setuid, setpcap, sys_admin for its sandbox, mknod, setfcap: 0x882001db);
# no_new_privs, no groups; its sandbox's process under its seccomp filter, in mount, PID and
# network namespaces that are not the host's.
if [ -z "${FERRY_KVM_VIRTIOFSD:-}" ] && [ -x /usr/lib/qemu/virtiofsd ]; then
  vfs=$(pgrep -P "$qemu" -x virtiofsd) || fail "no virtiofsd under QEMU ($qemu)"
  inner=$(pgrep -P "$vfs" -x virtiofsd) || fail "no sandboxed virtiofsd under $vfs"
  for p in $vfs $inner; do
    st=/proc/$p/status
    [ "$(readlink "/proc/$p/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
      fail "virtiofsd ($p) runs in the host's user namespace"
    [ "$(xargs <"/proc/$p/uid_map")" = "0 0 4294967295" ] && [ "$(xargs <"/proc/$p/gid_map")" = "0 0 4294967295" ] ||
      fail "virtiofsd's id maps: $(cat "/proc/$p/uid_map" "/proc/$p/gid_map")"
    for c in CapInh CapPrm CapEff CapBnd CapAmb; do
      v=$(awk -v c="$c:" '$1 == c {print $2}' "$st")
      [ $((0x$v & ~0x882001db)) = 0 ] || fail "virtiofsd ($p) $c: $v"
    done
    grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || fail "virtiofsd ($p) without no_new_privs"
    [ -z "$(awk '/^Groups:/ {print $2}' "$st")" ] || fail "virtiofsd's groups: $(grep '^Groups:' "$st")"
  done
  grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$inner/status" || fail "virtiofsd runs without its seccomp filter"
  for n in mnt pid net; do
    [ "$(readlink "/proc/$inner/ns/$n")" != "$(readlink "/proc/self/ns/$n")" ] || fail "virtiofsd in the host's $n namespace"
  done
  ok "virtiofsd runs in a user namespace of its own, its capabilities only there (CapEff $(awk '/^CapEff:/ {print $2}' "/proc/$inner/status")), no_new_privs, no groups, seccomp, its own mount, PID and network namespaces"
fi
# A second pod while the first runs (the next check's): each pod's virtiofsd serves a socket of
# its own (given a socket path, virtiofsd took a host-wide pid-file lock named after it, and
# every pod's path was the same, so the second pod did not start).
# It shares over 9p (no virtiofsd): QEMU serves the files itself, as their owners, so it keeps
# what 9p needs of root's, but in a user namespace of its own (the host's ids mapped one to one),
# its bounding set only chown, dac_override, fowner, fsetid, mknod and setfcap, no_new_privs, no
# groups, its seccomp sandbox.
g_u=$u g_pid=$run_pid
FERRY_KVM_VIRTIOFSD=none start_pod force
ok "a second kvm pod starts while the first runs"
qemu=$(cat "$D/pods/run/$u/pid")
st=/proc/$qemu/status
[ "$(readlink "/proc/$qemu/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
  fail "QEMU serving 9p runs in the host's user namespace"
[ "$(awk '{print $1, $2, $3}' "/proc/$qemu/uid_map" "/proc/$qemu/gid_map" | sort -u)" = "0 0 4294967295" ] ||
  fail "QEMU's id maps: $(cat "/proc/$qemu/uid_map" "/proc/$qemu/gid_map")"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
  v=$(awk '/^'"$c"':/ {print $2}' "$st")
  [ $((0x$v & ~0x8800001b)) = 0 ] || fail "QEMU serving 9p, $c: $v"
done
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || fail "QEMU serving 9p without no_new_privs"
grep -Eq '^Seccomp:[[:space:]]+2$' "$st" || fail "QEMU serving 9p without its seccomp sandbox"
[ -z "$(awk '/^Groups:/ {print $2}' "$st")" ] || fail "QEMU's groups: $(grep '^Groups:' "$st")"
! pgrep -P "$qemu" -x virtiofsd >/dev/null || fail "a virtiofsd with FERRY_KVM_VIRTIOFSD=none"
ok "QEMU serving 9p: its own user namespace, CapBnd $(awk '/^CapBnd:/ {print $2}' "$st"), no_new_privs, no groups, seccomp"
f_u=$u f_pid=$run_pid
u=$g_u run_pid=$g_pid
expect_status 0 F stop "$u"
wait_run 0 graceful
grep -qx got-term "$T/graceful.out" || fail "the app did not get SIGTERM: $(cat "$T/graceful.out")"
expect_status 0 F status "$u"
grep -qx exit=0 "$T/out" && grep -qx app-busybox=0 "$T/out" || fail "status: $(cat "$T/out")"
ok "ferry stop: the app in the guest got SIGTERM, the pod exited 0"
grep -qx got:from-stdin "$T/graceful.out" || fail "--interactive without a terminal: $(cat "$T/graceful.out")"
[ ! -s "$D/pods/run/$u/logs/busybox.log" ] || fail "an interactive app's output went to its log"
ok "--interactive without a terminal: the app read ferry's stdin, its output is ferry's, not a log's"

u=$f_u run_pid=$f_pid
expect_status 0 F stop --force "$u"
wait_run 137 force
! grep -q got-term "$T/force.out" || fail "--force sent SIGTERM"
jq -e '.state == "exited" and .signal == "SIGKILL"' "$D/pods/run/$u/status/busybox.json" >/dev/null ||
  fail "the app's status: $(cat "$D/pods/run/$u/status/busybox.json")"
ok "ferry stop --force: QEMU killed, the pod reads 137, the app exited by SIGKILL"

start_pod crash
kill -KILL "$(cat "$D/pods/run/$u/kvm/run.pid")"
set +e
wait "$run_pid"
set -e
for i in $(seq 1 100); do [ "$(running_processes)" = 0 ] && break; sleep 0.1; done
[ "$(running_processes)" = 0 ] || fail "QEMU or virtiofsd outlived kill -9 of run: $(kvm_leftovers)"
ok "kill -9 of the run entrypoint: QEMU and virtiofsd end with it"

F gc --grace-period=0s >/dev/null
kvm_leftovers >"$T/after"
diff "$T/before" "$T/after" >&2 || fail "gc left something"
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] || fail "pods left: $(find "$D/pods" -mindepth 2 -maxdepth 2)"
ok "gc after a killed pod leaves no process, socket or mount"
echo "# $checks checks"
