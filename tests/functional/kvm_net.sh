#!/usr/bin/env bash
# CNI networks on the kvm stage1 (stage1/ABI.md §4 "kvm", stage1/kvm/net.hpp), in one pod (a
# guest boot under TCG costs seconds): the pod on ferry's default network (ptp) and a named
# bridge network with DNS at once: its guest has eth0 and eth1 with the CNI results' addresses,
# the named network's DNS as resolv.conf, reaches the host and another host through NAT; its
# --publish answers from the host's 127.0.0.1 and from another host, the host reaches it on both
# networks; QEMU runs in the pod's network namespace, not the host's; after stop nothing is left
# on the host (veths, taps, rules, leases, mounts, processes). Where the host has IPv6 (issue 11
# item 3), the named network is dual-stack with a portmap: the guest has its IPv6 address, reaches
# another host over IPv6, the host reaches it at that address, and the --publish answers over
# IPv6 from another host, its source kept.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/net_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
kvm_test_setup
pods_test_setup() { :; }  # done by kvm_test_setup
net_test_setup
[ -x /usr/lib/cni/bridge ] || skip "the CNI bridge plugin is not installed"
kvm_leftovers >"$T/kvm-before"
test_host out 100  # 198.18.100.2: "another host" beyond the pod's NAT
v6=0
if [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ] && command -v ip6tables >/dev/null; then
  v6=1  # and fd42:fe:100::2, routed by the host
  ip -6 addr add fd42:fe:100::1/64 dev ferrytest-h100 nodad
  in_host out ip -6 addr add fd42:fe:100::2/64 dev eth0 nodad
  in_host out ip -6 route add default via fd42:fe:100::1
  net_conf 10-k.conflist '{"cniVersion":"1.0.0","name":"ftest-k","plugins":[{"type":"bridge","bridge":"ferrytest-br","isGateway":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"198.18.1.0/24"}],[{"subnet":"fd42:fe:1::/64"}]],"routes":[{"dst":"::/0"}]},
  "dns":{"nameservers":["198.18.1.53"],"search":["ferry.test"]}},
  {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}'
else
  echo "# the host has no IPv6 (or no ip6tables): IPv4 only"
  net_conf 10-k.conflist '{"cniVersion":"1.0.0","name":"ftest-k","plugins":[{"type":"bridge","bridge":"ferrytest-br","isGateway":true,
  "ipam":{"type":"host-local","subnet":"198.18.1.0/24"},"dns":{"nameservers":["198.18.1.53"],"search":["ferry.test"]}}]}'
fi
"$NET_PROBE" serve tcp 18500 >"$T/hostsrv.out" &
bg+=($!)
nsenter --net="$T/ns-out" "$NET_PROBE" serve tcp 18501 >"$T/outsrv.out" &
bg+=($!)
wait_for "the test servers" sh -c "grep -q listening '$T/hostsrv.out' && grep -q listening '$T/outsrv.out'"

gw='$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")'
call6=:
[ $v6 = 0 ] || call6="/bin/net_probe call tcp fd42:fe:100::2 18501"
out=$T/k.out
"$FERRY" --dir "$D" --insecure-options=image run --uuid-file-save="$T/k.uuid" --net=default,ftest-k \
  --publish 18086:80 "$NETIMG" --exec /bin/sh -- -c \
  "ip -o addr show; cat /etc/resolv.conf; /bin/net_probe call tcp $gw 18500;
   /bin/net_probe call tcp 198.18.100.2 18501; $call6; exec /bin/net_probe serve tcp 80" >"$out" 2>"$T/k.err" &
bg+=($!)
for _ in $(seq 1 1200); do  # a guest's boot under TCG: up to 4 minutes under load
  grep -q listening "$out" && break
  kill -0 "${bg[-1]}" 2>/dev/null || fail "the pod ended: $(cat "$out" "$T/k.err")"
  sleep 0.2
done
grep -q listening "$out" || fail "the pod did not listen: $(cat "$out" "$T/k.err")"
u=$(cat "$T/k.uuid")
grep -q 'eth0 *inet 172\.16\.28\.' "$out" || fail "eth0 on default: $(cat "$out" "$T/k.err")"
grep -q 'eth1 *inet 198\.18\.1\.' "$out" || fail "eth1 on ftest-k: $(cat "$out")"
ip0=$(pod_ip "$u" default) ip1=$(pod_ip "$u" ftest-k)
grep -q "eth0 *inet $ip0/" "$out" && grep -q "eth1 *inet $ip1/" "$out" ||
  fail "the guest's addresses are not the CNI results' ($ip0, $ip1): $(cat "$out")"
grep -qx 'nameserver 198.18.1.53' "$out" || fail "the network's DNS: $(cat "$out")"
ok "the guest has eth0 ($ip0, default) and eth1 ($ip1, ftest-k) and ftest-k's DNS"
grep -q '^hello 172\.16\.28\.' "$out" || fail "pod to host: $(cat "$out" "$T/k.err")"
grep -qx 'hello 198.18.100.1' "$out" || fail "NAT out: $(cat "$out")"
ok "the guest reaches the host and another host through NAT"
"$NET_PROBE" call tcp 127.0.0.1 18086 >"$T/call" || fail "127.0.0.1:18086: $(cat "$T/call")"
grep -q '^hello ' "$T/call" || fail "127.0.0.1:18086 answered $(cat "$T/call")"
in_host out "$NET_PROBE" call tcp 198.18.100.1 18086 >"$T/call" || fail "from another host: $(cat "$T/call")"
grep -qx 'hello 198.18.100.2' "$T/call" || fail "from another host: $(cat "$T/call")"
"$NET_PROBE" call tcp "$ip1" 80 >"$T/call" || fail "the host to $ip1: $(cat "$T/call")"
ok "--publish 18086:80 answers on 127.0.0.1 and from another host; the host reaches eth1's $ip1"
if [ $v6 = 1 ]; then
  ip6=$(F status "$u" | sed -n 's/^networks=//p' | tr ',' '\n' | sed -n 's|^ftest-k:\(fd42:fe:1:[0-9a-f:]*\)/64$|\1|p')
  [ -n "$ip6" ] || fail "ftest-k's IPv6 address in status: $(F status "$u")"
  grep -q "eth1 *inet6 $ip6/64 " "$out" || fail "eth1's IPv6 address is not $ip6: $(cat "$out")"
  grep -qx 'hello fd42:fe:1:.*' "$out" || fail "the guest to another host over IPv6: $(cat "$out" "$T/k.err")"
  "$NET_PROBE" call tcp "$ip6" 80 >"$T/call" || fail "the host to [$ip6]:80: $(cat "$T/call")"
  grep -q '^hello fd42:fe:1:' "$T/call" || fail "the host to [$ip6]:80: $(cat "$T/call")"
  in_host out "$NET_PROBE" call tcp fd42:fe:100::1 18086 >"$T/call" ||
    fail "--publish over IPv6 from another host: $(cat "$T/call")"
  grep -qx 'hello fd42:fe:100::2' "$T/call" || fail "--publish over IPv6: $(cat "$T/call")"
  ok "IPv6: eth1 has $ip6, the guest reaches another host, the host reaches the guest, --publish answers over IPv6 from another host ($(cat "$T/call"))"
fi
qemu=$(cat "$D/pods/run/$u/pid")
[ "$(readlink "/proc/$qemu/exe")" = /usr/bin/qemu-system-x86_64 ] || fail "pid $qemu is not QEMU"
[ "$(stat -L -c %i "/proc/$qemu/ns/net")" = "$(stat -L -c %i "$D/pods/run/$u/netns")" ] ||
  fail "QEMU is not in the pod's network namespace"
[ "$(stat -L -c %i "/proc/$qemu/ns/net")" != "$(stat -L -c %i /proc/self/ns/net)" ] ||
  fail "QEMU is in the host's network namespace"
ok "QEMU runs in the pod's network namespace, not the host's"

F stop "$u" >/dev/null
F status --wait=60s "$u" >/dev/null
wait_for "the pod's ferry to exit" sh -c "! kill -0 ${bg[-1]} 2>/dev/null"
nothing_left "after stop"
kvm_leftovers >"$T/kvm-after"
diff "$T/kvm-before" "$T/kvm-after" >&2 || fail "the pod left processes, sockets or mounts"
ok "stop: no veth, tap, rule, lease, mount or process left"
echo "# $checks checks"
