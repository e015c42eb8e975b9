#!/usr/bin/env bash
# Pods on CNI networks (ferry's default and default-restricted, none, host) with test hosts made
# of network namespaces: the pod's address and NETWORKS/networks=, pod to host, NAT out to a
# test host, default-restricted kept on the host, none isolated, port forwarding (TCP and UDP)
# from another namespace and from the host's 127.0.0.1, a taken port refused before start, and
# teardown after the pod's end, stop, and kill -9 of ferry or of the stage1, each time counting
# what the host holds (veths, rules, leases, mounts) against the start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/net_lib.sh"
net_test_setup
test_host out 100  # 198.18.100.2: "another host" beyond the pod's NAT

# --- default: an address of 172.16.28.0/24 on eth0, shown by status while the pod runs
expect_status 0 F run --net=default "$NETIMG"
grep -q 'eth0 *inet 172\.16\.28\.' "$T/out" || fail "default: the pod's addresses: $(cat "$T/out" "$T/err")"
nothing_left "a pod on default that ended"
ok "--net=default: eth0 in 172.16.28.0/24; after the pod's end nothing is left on the host"
start_net_pod st --net "$NETIMG" --exec /bin/net_probe -- serve tcp 80
ip4=$(pod_ip "$u" default)
[[ $ip4 == 172.16.28.* ]] || fail "status networks=: $(F status "$u")"
F list --no-legend --full | awk -v u="$u" '$1 == u {print $9}' | grep -q "^default:$ip4/24$" ||
  fail "list NETWORKS: $(F list --full)"
F --format=json status "$u" | jq -e --arg ip "$ip4/24" '.networks[0].name == "default" and .networks[0].addresses[0] == $ip' >/dev/null ||
  fail "status JSON networks: $(F --format=json status "$u")"
"$NET_PROBE" call tcp "$ip4" 80 >"$T/call" || fail "the host cannot reach the pod at $ip4: $(cat "$T/call")"
ok "a bare --net is default; status networks=default:$ip4/24, list NETWORKS, JSON; the host reaches the pod"
F stop "$u" >/dev/null
F status --wait=20s "$u" >/dev/null
wait_for "the pod's ferry to exit" sh -c "! kill -0 ${bg[-1]} 2>/dev/null"
nothing_left "after stop"
F list --no-legend --full | awk -v u="$u" '$1 == u {print $9}' | grep -qx default ||
  fail "NETWORKS of an exited pod: $(F list --full)"
ok "stop: the networks are torn down before the pod reads as exited"

# --- pod to host, NAT out to another host, default-restricted, none
"$NET_PROBE" serve tcp 18500 >"$T/hostsrv.out" &
bg+=($!)
nsenter --net="$T/ns-out" "$NET_PROBE" serve tcp 18501 >"$T/outsrv.out" &  # $! is the probe
bg+=($!)
wait_for "the test servers" sh -c "grep -q listening '$T/hostsrv.out' && grep -q listening '$T/outsrv.out'"
gw='$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")'
expect_status 0 F run --net=default "$NETIMG" --exec /bin/sh -- -c \
  "/bin/net_probe call tcp $gw 18500 && /bin/net_probe call tcp 198.18.100.2 18501"
grep -q '^hello 172\.16\.28\.' "$T/out" || fail "pod to host: $(cat "$T/out" "$T/err")"
grep -qx 'hello 198.18.100.1' "$T/out" || fail "NAT out: $(cat "$T/out" "$T/err")"
ok "default: the pod reaches the host, and another host through NAT (seen as the host's 198.18.100.1)"
expect_status 1 F run --net=default-restricted "$NETIMG" --exec /bin/sh -- -c \
  "/bin/net_probe call tcp \$(ip -o -4 addr show eth0 | sed 's/.*inet \([0-9.]*\)\.[0-9]*\/.*/\1.1/') 18500 && /bin/net_probe call tcp 198.18.100.2 18501"
grep -q '^hello 172\.16\.29\.' "$T/out" || fail "default-restricted to host: $(cat "$T/out" "$T/err")"
grep -q '^failed: connect' "$T/out" || fail "default-restricted reached beyond the host: $(cat "$T/out")"
ok "default-restricted: the host only ($(grep failed "$T/out"))"
expect_status 1 F run --net=none "$NETIMG" --exec /bin/sh -- -c \
  "ip -o link | grep -v ': lo:' ; /bin/net_probe call tcp 198.18.100.2 18501"
! grep -q 'eth' "$T/out" || fail "none: interfaces: $(cat "$T/out")"
grep -q '^failed: connect' "$T/out" || fail "none reached another host: $(cat "$T/out")"
expect_status 0 F run "$NETIMG" --exec /bin/sh -- -c "ip -o link | wc -l"
[ "$(cat "$T/out")" = 1 ] || fail "no --net: links $(cat "$T/out")"
nothing_left "default-restricted, none"
ok "none and no --net: loopback only, nothing reachable"

# --- port forwarding: TCP and UDP, from the host's 127.0.0.1 and from another host
start_net_pod pf --net=default --port http:18080 --publish 18053:53/udp "$NETIMG" --exec /bin/sh -- -c \
  '/bin/net_probe serve udp 53 & exec /bin/net_probe serve tcp 80'
pf=$u
ip4=$(pod_ip "$u" default)
"$NET_PROBE" call tcp 127.0.0.1 18080 >"$T/call" || fail "127.0.0.1:18080: $(cat "$T/call")"
grep -q '^hello ' "$T/call" || fail "127.0.0.1:18080 answered $(cat "$T/call")"
ok "--port http:18080 answers on the host's 127.0.0.1 ($(cat "$T/call"))"
in_host out "$NET_PROBE" call tcp 198.18.100.1 18080 >"$T/call" ||
  fail "from another host: $(cat "$T/call")"
grep -qx 'hello 198.18.100.2' "$T/call" || fail "from another host: $(cat "$T/call")"
"$NET_PROBE" call udp 127.0.0.1 18053 >"$T/call" || fail "udp 127.0.0.1:18053: $(cat "$T/call")"
in_host out "$NET_PROBE" call udp 198.18.100.1 18053 >"$T/call" ||
  fail "udp from another host: $(cat "$T/call")"
ok "TCP and UDP forwards answer from another host (seen as itself) and from 127.0.0.1"
jq -e '.ports[0].name == "http" and .ports[0].hostPort == 18080' "$D/pods/run/$u/pod" >/dev/null ||
  fail "the pod manifest's ports: $(jq -c .ports "$D/pods/run/$u/pod")"
ok "--port is recorded in the pod manifest's ports (appc)"
expect_status 254 F run --net=default --publish 18080:80 "$NETIMG"
one_line "a forwarded port"
grep -q 'tcp port 18080: another pod forwards it already' "$T/err" || fail "taken port: $(cat "$T/err")"
"$NET_PROBE" serve tcp 18081 >"$T/busy.out" &
bg+=($!)
wait_for "a host listener on 18081" grep -q listening "$T/busy.out"
expect_status 254 F run --net=default --publish 18081:80 "$NETIMG"
one_line "a host port in use"
grep -q 'tcp port 18081: the host uses it already' "$T/err" || fail "busy port: $(cat "$T/err")"
[ -z "$(ls "$D/pods/garbage" 2>/dev/null)" ] || fail "a refused pod left $(ls "$D/pods/garbage")"
ok "a port forwarded by another pod or used on the host is refused before start, in one line"
expect_status 2 F run --net=none --publish 18082:80 "$NETIMG"
grep -q 'need a pod network' "$T/err" || fail "--publish with none: $(cat "$T/err")"
expect_status 2 F run --net=default --port nosuch:18083 "$NETIMG"
grep -q 'no app of the pod declares a port' "$T/err" || fail "--port unknown name: $(cat "$T/err")"
ok "--publish without a network, --port of an unknown name: usage errors"
F stop "$pf" >/dev/null
F status --wait=20s "$pf" >/dev/null

# --- kill -9: of ferry (the stage1 and the pod die with it; gc detaches), of the stage1 (ferry
# detaches at once)
start_net_pod k1 --net=default --publish 18084:80 "$NETIMG" --exec /bin/net_probe -- serve tcp 80
kill -KILL "${bg[-1]}"
F status --wait=20s "$u" >/dev/null || fail "the pod outlived its ferry"
F gc --grace-period=0s >/dev/null
nothing_left "gc after kill -9 of ferry"
ok "kill -9 of ferry: the pod ends; gc detaches its networks and nothing is left"
start_net_pod k2 --net=default --publish 18085:80 "$NETIMG" --exec /bin/net_probe -- serve tcp 80
stage1=$(pgrep -P "${bg[-1]}" | head -1)
[ -n "$stage1" ] || fail "no stage1 below ferry"
kill -KILL "$stage1"
F status --wait=20s "$u" >/dev/null || fail "the pod outlived its stage1"
wait_for "ferry to exit" sh -c "! kill -0 ${bg[-1]} 2>/dev/null"
nothing_left "kill -9 of the stage1"
ok "kill -9 of the stage1: ferry detaches the pod's networks at once"
F gc --grace-period=0s >/dev/null
nothing_left "the end"
