#!/usr/bin/env bash
# Abstract unix sockets are named per network namespace, not by the file system: a pod with a
# network namespace of its own must not reach one a host process listens on (X11's and
# containerd-shim's were the way out of containers sharing the host's). The host listener here
# answers every connection with a secret; the pod, with the default and with --net=none, must
# get ECONNREFUSED. The control: with --net=host the pod shares the host's namespace and does
# reach it (a property of --net=host, which SECURITY.md states; also proof the probe connects).
source "$(dirname "$0")/escape_lib.sh"
escape_setup

name=ferry-escape-$$-$RANDOM
python3 - "$name" >"$T/listener.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1])
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"host-secret\n")
    c.close()
PY
listener=$!
bg+=($listener)
wait_for "the host listener" grep -q listening "$T/listener.out"
"$PROBES/sys" abstract "$name" >"$T/out" || true
grep -q "^ok connect to @$name: host-secret" "$T/out" || { cat "$T/out" >&2; fail "the host cannot reach its own listener"; }

img=$(hostile_image abstract "{\"exec\":[\"/probe/sys\",\"abstract\",\"$name\"],\"user\":\"0\",\"group\":\"0\"}")
nets=(default none)
# CNI networks are not offered with --private-users (the suite's second run).
[[ "${ESCAPE_RUN_FLAGS:-}" == *private-users* ]] && nets=(none)
for net in "${nets[@]}"; do
  run_pod "--net=$net" --net=$net "$img"
  grep -q "^denied connect to @$name" "$T/out" || { cat "$T/out" "$T/err" >&2; fail "--net=$net: the pod reached the host's abstract socket"; }
  ok "--net=$net: the host's abstract socket is out of reach ($(sed 's/.*(//; s/)$//' "$T/out"))"
done
if applies_on_stage1 kvm "no --net=host: a guest shares no network namespace with the host (the host's own connect above shows the probe reaches the listener)"; then
  run_pod "--net=host" --net=host "$img"
  grep -q "^ok connect to @$name: host-secret" "$T/out" || { cat "$T/out" "$T/err" >&2; fail "control: --net=host did not reach the listener"; }
  ok "control: with --net=host the pod reaches the host's abstract socket (shared network namespace)"
fi
host_unchanged "abstract sockets"
kill "$listener"
wait "$listener" 2>/dev/null || true
echo "escape.abstract_sockets: $checks checks passed"
