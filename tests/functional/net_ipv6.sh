#!/usr/bin/env bash
# IPv6 on a pod network: a dual-stack network of $D/net.d (ptp with an IPv4 and an IPv6 range,
# portmap); the pod's IPv6 address in status, the host and another pod reaching it over IPv6,
# --publish (TCP and UDP) reachable over IPv6 and IPv4 from a test host, a --port bound to one
# IPv6 host address and no other, and teardown counting ip6tables rules too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/net_lib.sh"
net_test_setup
[ -d /proc/sys/net/ipv6 ] && [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)" = 0 ] ||
  skip "the host has IPv6 disabled"
command -v ip6tables >/dev/null || skip "ip6tables is not installed (dist/setup: iptables)"

# A test host with both families: 198.18.107.2 and fd42:fe:107::2, its router the host.
test_host v6 107
ip -6 addr add fd42:fe:107::1/64 dev ferrytest-h107 nodad
in_host v6 ip -6 addr add fd42:fe:107::2/64 dev eth0 nodad
in_host v6 ip -6 route add default via fd42:fe:107::1
net_conf 10-v6.conflist '{"cniVersion":"1.0.0","name":"ftest-v6","plugins":[
 {"type":"ptp","ipMasq":true,"ipam":{"type":"host-local",
  "ranges":[[{"subnet":"198.18.106.0/24"}],[{"subnet":"fd42:fe:106::/64"}]],
  "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}'

# --- the pod's addresses, the host and another pod over IPv6
start_net_pod s --net=ftest-v6 --publish 18090:80 --publish 18091:53/udp "$NETIMG" \
  --exec /bin/sh -- -c "/bin/net_probe serve udp 53 & exec /bin/net_probe serve tcp 80"
s=$u
wait_for "the UDP server" sh -c "[ \$(grep -c listening '$T/s.out') = 2 ]"
addrs=$(F status "$s" | sed -n 's/^networks=//p')
ip6=$(tr ',' '\n' <<<"$addrs" | sed -n 's|^ftest-v6:\(fd42:fe:106:[0-9a-f:]*\)/64$|\1|p')
ip4=$(tr ',' '\n' <<<"$addrs" | sed -n 's|^ftest-v6:\(198\.18\.106\.[0-9]*\)/24$|\1|p')
[ -n "$ip6" ] && [ -n "$ip4" ] || fail "status networks= of a dual-stack pod: $addrs"
F --format=json status "$s" | jq -e --arg a "$ip6/64" '.networks[0].addresses | index($a) != null' >/dev/null ||
  fail "status JSON addresses: $(F --format=json status "$s" | jq -c .networks)"
ok "a dual-stack network: status networks=$addrs (text and JSON)"
"$NET_PROBE" call tcp "$ip6" 80 >"$T/call" || fail "the host cannot reach [$ip6]:80: $(cat "$T/call")"
grep -q '^hello fd42:fe:106:' "$T/call" || fail "host to pod over IPv6: $(cat "$T/call")"
expect_status 0 F run --net=ftest-v6 "$NETIMG" --exec /bin/net_probe -- call tcp "$ip6" 80
grep -q '^hello fd42:fe:106:' "$T/out" || fail "pod to pod over IPv6: $(cat "$T/out" "$T/err")"
ok "the host and another pod reach the pod at [$ip6]:80 ($(cat "$T/out"))"
# The network is ready when the app starts: the host's end of a new pod's link (ptp's gateway
# address) is out of duplicate address detection, so the app's first connection needs no
# neighbour discovery retry (1 s) — it gets 0.9 s here; ferry without the wait took 1.1 s.
for i in 1 2 3; do
  expect_status 0 F run --net=ftest-v6 "$NETIMG" --exec /bin/net_probe -- call tcp "$ip6" 80 900
  grep -q '^hello fd42:fe:106:' "$T/out" || fail "first connection of a new pod: $(cat "$T/out" "$T/err")"
done
ok "a new pod's first IPv6 connection goes out at once, 3 of 3 (its gateway is no longer tentative)"

# --- --publish over IPv6 and IPv4 from another host; UDP too
in_host v6 "$NET_PROBE" call tcp fd42:fe:107::1 18090 >"$T/call" ||
  fail "tcp 18090 over IPv6 from the test host: $(cat "$T/call")"
grep -qx 'hello fd42:fe:107::2' "$T/call" || fail "forwarded over IPv6: $(cat "$T/call")"
in_host v6 "$NET_PROBE" call udp fd42:fe:107::1 18091 >"$T/call6u" ||
  fail "udp 18091 over IPv6 from the test host: $(cat "$T/call6u")"
grep -qx 'hello fd42:fe:107::2' "$T/call6u" || fail "UDP forwarded over IPv6: $(cat "$T/call6u")"
in_host v6 "$NET_PROBE" call tcp 198.18.107.1 18090 >"$T/call4" ||
  fail "tcp 18090 over IPv4 from the test host: $(cat "$T/call4")"
grep -qx 'hello 198.18.107.2' "$T/call4" || fail "forwarded over IPv4: $(cat "$T/call4")"
ok "--publish 18090:80 and 18091:53/udp reach the pod from another host over IPv6 (source kept: $(cat "$T/call")) and IPv4"

# --- --port bound to one IPv6 host address: reachable there, not on the host's other addresses
start_net_pod p --net=ftest-v6 --port "http:[fd42:fe:107::1]:18092" "$NETIMG" \
  --exec /bin/net_probe -- serve tcp 80
p=$u
jq -e '.ports[0].name == "http" and .ports[0].hostPort == 18092' "$D/pods/run/$p/pod" >/dev/null ||
  fail "the pod manifest's ports: $(jq -c .ports "$D/pods/run/$p/pod")"
in_host v6 "$NET_PROBE" call tcp fd42:fe:107::1 18092 >"$T/callp" ||
  fail "--port on [fd42:fe:107::1]: $(cat "$T/callp")"
grep -qx 'hello fd42:fe:107::2' "$T/callp" || fail "--port over IPv6: $(cat "$T/callp")"
if in_host v6 "$NET_PROBE" call tcp 198.18.107.1 18092 500 >"$T/callp4"; then
  fail "--port bound to an IPv6 address answered on 198.18.107.1: $(cat "$T/callp4")"
fi
ok "--port http:[fd42:fe:107::1]:18092 answers there only ($(cat "$T/callp4"))"
expect_status 254 F run --net=ftest-v6 --port "http:[fd42:fe:107::1]:18092" "$NETIMG"
one_line "a forwarded IPv6 port"
grep -q 'tcp port 18092: another pod forwards it already' "$T/err" || fail "taken port: $(cat "$T/err")"
ok "the same IPv6 host port again is refused before start ($(cat "$T/err"))"

# --- teardown: nothing left, ip6tables included
for x in "$s" "$p"; do F stop "$x" >/dev/null; done
for x in "$s" "$p"; do F status --wait=30s "$x" >/dev/null; done
wait_for "the pods' ferry to exit" sh -c "! kill -0 ${bg[0]} 2>/dev/null && ! kill -0 ${bg[1]} 2>/dev/null"
F gc --grace-period=0s >/dev/null
ip6tables-save | grep -q "$s\|$p" && fail "ip6tables still names a pod: $(ip6tables-save | grep "$s\|$p")"
nothing_left "dual-stack pods after stop and gc"
ok "after stop and gc no veth, iptables or ip6tables rule, lease or mount is left"
