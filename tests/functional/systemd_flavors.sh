#!/usr/bin/env bash
# Readiness and socket activation on every stage1 flavor and on a pod on CNI networks, without a
# systemd manager: systemd-socket-activate (a peer from systemd) listens, and on the first
# connection execs ferry with the listening socket at fd 3 (LISTEN_PID its own, named http) and
# NOTIFY_SOCKET pointing at a datagram socket of this test, which records who sends what (the
# sender's pid from SCM_CREDENTIALS).
# What a Type=notify unit needs (stage1/ABI.md §5 "systemd"): READY=1 comes from the process ferry
# was executed as (NotifyAccess=main) and only after the app said READY=1 on its own socket, and
# the app whose port is socketActivated gets the socket as fd 3 with LISTEN_PID its pid.
# - ns, --net=none: the stage1's run is that process (ferry execs it);
# - ns, --net=default: ferry stays that process, the stage1 its child (the networks are torn down
#   after the pod); before: READY=1 came from the child (systemd drops it: the unit never starts)
#   and the stage1 saw a LISTEN_PID not its own (the app got no socket);
# - nspawn: systemd-nspawn hands the socket to its payload (ferry-init); before: neither;
# - fly: the ns stage1's run with the host's namespaces.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"  # (its image and client; no systemd is booted here)
pods_test_setup
: "${SD_PROBE:?SD_PROBE must point to the sd-probe binary}"
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed (dist/setup: systemd)"
sd_probe_image "$T/sd.aci"

# The notify listener: one line per datagram, "PID MESSAGE notified=0|1" where notified says
# whether the app had written "notifying" (just before its own READY=1) to its log by then.
cat >"$T/listen.py" <<'PY'
import glob, socket, struct, sys
path, out, logs = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
open(out + ".up", "w").close()
with open(out, "a") as f:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        if msg == b"END":  # the test's, once ferry exited: after every datagram of ferry's
            break
        pid = -1
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        seen = any("notifying" in open(l, errors="replace").read() for l in glob.glob(logs))
        f.write("%d %s notified=%d\n" % (pid, msg.decode(errors="replace").strip(), int(seen)))
        f.flush()
PY

# The listener's end: a datagram after all of ferry's (it exited), so it recorded each of them.
# (Killing it instead lost a READY=1 it had received but not written yet: got '' once in a while.)
end_listener() { # DIR PID
  python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"END", sys.argv[1])' "$1/notify.sock"
  wait "$2" || fail "the notify listener failed"
}

activated() { # LABEL RUN-FLAGS...
  local label=$1 dir=$T/$1 reply
  shift
  mkdir -p "$dir"
  python3 "$T/listen.py" "$dir/notify.sock" "$dir/notify.log" "$D/pods/*/*/logs/sd-probe.log" &
  local listener=$!
  bg+=("$listener")
  wait_for "the notify listener" test -e "$dir/notify.log.up"
  systemd-socket-activate -l "$dir/sa.sock" --fdname=http -E NOTIFY_SOCKET="$dir/notify.sock" \
    "$FERRY" --dir "$D" --insecure-options=image run "$@" --uuid-file-save="$dir/uuid" "$T/sd.aci" \
    --exec /bin/sh -- -c 'sleep 1; echo notifying; sd-probe notify READY=1; exec sd-probe serve' \
    >"$dir/run.out" 2>&1 &
  local main=$!
  bg+=("$main")
  wait_for "systemd-socket-activate to listen" test -S "$dir/sa.sock"
  [ ! -e "$dir/uuid" ] || fail "$label: a pod before any client"
  reply=$(sd_readline "$dir/sa.sock" || true)
  local rc=0
  wait "$main" || rc=$?
  end_listener "$dir" "$listener"
  [ "$reply" = "hello http fds=0,1,2,3" ] || fail "$label: the activated app said '$reply' (ferry exited $rc: $(tail -3 "$dir/run.out"))"
  [ "$rc" -eq 0 ] || fail "$label: ferry exited $rc: $(cat "$dir/run.out")"
  grep -q '^served 1 fds=0,1,2,3$' "$dir/run.out" || fail "$label: $(cat "$dir/run.out")"
  ok "$label: the client's connection reached the app on fd 3 (named http, LISTEN_PID its own, no other fd)"
  [ "$(cat "$dir/notify.log")" = "$main READY=1 notified=1" ] ||
    fail "$label: the notify socket got '$(cat "$dir/notify.log")', want '$main READY=1 notified=1' (ferry's pid $main, once, after the app's READY=1)"
  ok "$label: READY=1 from the process ferry was executed as, after the app's own READY=1"
}

activated ns --net=none
if [ -x /usr/lib/cni/bridge ]; then
  activated ns-networked --net=default
else
  echo "# no CNI plugins (/usr/lib/cni): the networked case is left out"
fi
if command -v systemd-nspawn >/dev/null; then
  activated nspawn --stage1-name=nspawn
else
  echo "# no systemd-nspawn: the nspawn case is left out"
fi
activated fly --stage1-name=fly --net=host

# kvm: READY=1 from the process ferry was executed as once the guest's init relayed `ready`;
# socket activation is refused in one line (descriptors cannot reach the guest's apps), and so
# is --log-driver=journal (the descriptor offers file only). One guest boot.
KVMDIR=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/kvm
if [ -x /usr/bin/qemu-system-x86_64 ] && [ -s "$KVMDIR/guest/vmlinux" ] && [ -s "$KVMDIR/guest/initrd" ]; then
  export FERRY_KVM_BOOT_TIMEOUT=${FERRY_KVM_BOOT_TIMEOUT:-240}
  dir=$T/kvm
  mkdir -p "$dir"
  python3 "$T/listen.py" "$dir/notify.sock" "$dir/notify.log" "$dir/none" &
  listener=$!
  bg+=("$listener")
  wait_for "the notify listener" test -e "$dir/notify.log.up"
  NOTIFY_SOCKET=$dir/notify.sock "$FERRY" --dir "$D" --insecure-options=image run --stage1-name=kvm \
    --net=none "$BB" --exec /bin/sh -- -c 'echo kvm-up' >"$dir/run.out" 2>&1 &
  main=$!
  rc=0
  wait "$main" || rc=$?
  end_listener "$dir" "$listener"
  [ "$rc" -eq 0 ] && grep -q kvm-up "$dir/run.out" || fail "kvm: ferry exited $rc: $(cat "$dir/run.out")"
  [ "$(cat "$dir/notify.log")" = "$main READY=1 notified=0" ] ||
    fail "kvm: the notify socket got '$(cat "$dir/notify.log")', want '$main READY=1 notified=0'"
  ok "kvm: READY=1 from the process ferry was executed as, once the guest relayed ready"
  systemd-socket-activate -l "$dir/sa.sock" "$FERRY" --dir "$D" --insecure-options=image run \
    --stage1-name=kvm --net=none "$BB" --exec /bin/true >"$dir/sa.out" 2>&1 &
  main=$!
  bg+=("$main")
  wait_for "systemd-socket-activate to listen" test -S "$dir/sa.sock"
  python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$dir/sa.sock" || true
  rc=0
  wait "$main" || rc=$?
  [ "$rc" -eq 254 ] && grep -q 'not supported: stage1 "kvm" cannot pass socket-activated descriptors' "$dir/sa.out" ||
    fail "kvm with LISTEN_FDS: exit $rc: $(cat "$dir/sa.out")"
  expect_status 254 F run --stage1-name=kvm --net=none --log-driver=journal "$BB" --exec /bin/true
  grep -q 'not supported: stage1 "kvm" does not offer --log-driver=journal' "$T/err" || fail "kvm journal: $(cat "$T/err")"
  ok "kvm: socket activation and --log-driver=journal refused in one line each"
else
  echo "# no qemu or no kvm guest: the kvm case is left out"
fi
echo "PASS: $checks checks"
