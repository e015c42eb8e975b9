#!/usr/bin/env bash
# The host's loopback services stay out of a pod's reach on a CNI network with forwarded ports.
# To make the host's own 127.0.0.1 reach a forwarded port, the portmap plugin sets route_localnet
# on the pod's host-side interface, after which the host accepts packets for 127.0.0.0/8 that
# arrive there (the class of kube-proxy's CVE-2020-8558): a pod able to send such packets (raw
# sockets, or routes of its own) reached every service the host keeps on its loopback. ferry
# drops them (raw PREROUTING, per interface, for the pod's life). Here the pod's namespace gets
# the routes such a pod would use (as root from the host: nsenter), then asks the host's
# 127.0.0.1 listener for its secret: nothing. The control: with ferry's rule removed the same
# packets do get the secret, and 127.0.0.1 still reaches the forwarded port throughout.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
[ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/portmap ] || skip "the CNI plugins are not installed"
command -v iptables >/dev/null || skip "iptables is not installed"
[[ "${ESCAPE_RUN_FLAGS:-}" != *private-users* ]] || skip "CNI networks are not offered with --private-users"

port=$((20000 + RANDOM % 10000))
python3 - "$port" >"$T/listener.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"host-secret\n")
    c.close()
PY
bg+=($!)
wait_for "the host listener" grep -q listening "$T/listener.out"

img=$(hostile_image localnet '{"exec":["/bin/sh","-c","echo ready; exec /bin/sleep 600"],"user":"0","group":"0"}' \
  'for a in ip nc; do ln -sf busybox bin/$a; done')
fwd=$((port + 1))
# On kvm the pod's packets come from its guest's kernel: the namespace below is QEMU's, whose
# eth0 hands every packet to the guest's tap and back (stage1/ABI.md §4 "kvm"). There the
# guest's root sets up the same routes itself, holding what the operator granted it
# (CAP_NET_ADMIN, route_localnet in the guest): a guest's root owns its kernel.
guest=()
[ "${FERRY_STAGE1:-}" != kvm ] || guest=(--caps-retain=CAP_NET_ADMIN --sysctl net.ipv4.conf.all.route_localnet=1)
start_pod lnet --net=default --publish "$fwd:80" "$img" "${guest[@]}"
pid=$(F status "$u" | sed -n 's/^pid=//p')
hostif=$(jq -r '.[0]' "$D/pods/run/$u/net/guards.json")
[ "$(cat "/proc/sys/net/ipv4/conf/$hostif/route_localnet")" = 1 ] ||
  fail "portmap did not set route_localnet on $hostif (nothing to show)"
gw=$(nsenter --net="/proc/$pid/ns/net" ip -4 route show default | sed -n 's/^default via \([0-9.]*\).*/\1/p')
[ -n "$gw" ] || fail "the pod has no default route"
# What a pod with raw sockets can do anyway: send packets for 127.0.0.1 out of eth0.
if [ "${FERRY_STAGE1:-}" = kvm ]; then
  F enter "$u" /bin/sh -c "ip addr del 127.0.0.1/8 dev lo && ip route add 127.0.0.1/32 via $gw dev eth0 onlink" ||
    fail "the guest's root could not route 127.0.0.1 out of eth0"
  ask() {
    local got
    got=$(F enter "$u" /bin/sh -c "nc -w 3 127.0.0.1 $port </dev/null" 2>&1) || true
    case $got in
      host-secret*) echo "reached: $got" ;;
      *) echo "denied: ${got:-nothing}" ;;
    esac
  }
else
  nsenter --net="/proc/$pid/ns/net" sh -c "
    ip addr del 127.0.0.1/8 dev lo
    ip route add 127.0.0.1/32 via $gw dev eth0 onlink
    sysctl -qw net.ipv4.conf.eth0.route_localnet=1 net.ipv4.conf.all.route_localnet=1"
  ask() {
    nsenter --net="/proc/$pid/ns/net" python3 - "$port" <<'PY' || true
import socket, sys
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("reached:", c.recv(64).decode().strip())
except OSError as e:
    print("denied:", e)
PY
  }
fi
ask >"$T/ask"
grep -q '^denied' "$T/ask" || fail "the pod reached the host's 127.0.0.1 service: $(cat "$T/ask")"
ok "a pod's packets for 127.0.0.1 through its route_localnet host interface: $(cat "$T/ask")"
rule=(-i "$hostif" -d 127.0.0.0/8 -m comment --comment "ferry:$u" -j DROP)
iptables -w -t raw -D PREROUTING "${rule[@]}"
ask >"$T/ask"
iptables -w -t raw -I PREROUTING "${rule[@]}"
grep -q '^reached: host-secret' "$T/ask" || fail "control: without ferry's rule: $(cat "$T/ask")"
ok "control: without ferry's rule the same packets get the host's secret"
host_unchanged "net_localnet"
