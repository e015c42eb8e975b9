#!/usr/bin/env bash
# Named networks from $D/net.d (a bridge and a ptp network with subnets of their own): pod to pod
# on one network, no route between two networks, a pod on both (eth0, eth1), CNI_ARGS, the
# network's DNS as the pod's resolv.conf (and --dns over it), --net=all; bad configurations (an
# unknown plugin, broken JSON, a file others may write, an exhausted IPAM range) refused in one
# line with nothing left: no pod, no veth, rule, lease or mount.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/net_lib.sh"
net_test_setup
[ -x /usr/lib/cni/bridge ] || skip "the CNI bridge plugin is not installed"
net_conf 10-a.conflist '{"cniVersion":"1.0.0","name":"ftest-a","plugins":[{"type":"bridge","bridge":"ferrytest-br","isGateway":true,
  "ipam":{"type":"host-local","subnet":"198.18.1.0/24"},"dns":{"nameservers":["198.18.1.53"],"search":["ferry.test"]}}]}'
net_conf 20-b.conf '{"cniVersion":"0.4.0","name":"ftest-b","type":"ptp","ipam":{"type":"host-local","subnet":"198.18.2.0/24"}}'
net_conf 30-one.conf '{"cniVersion":"0.4.0","name":"ftest-one","type":"ptp","ipam":{"type":"host-local","ranges":[[{"subnet":"198.18.3.0/24","rangeStart":"198.18.3.10","rangeEnd":"198.18.3.10"}]]}}'

# --- pod to pod on one network; none between two networks; a pod on both
start_net_pod a1 --net=ftest-a "$NETIMG" --exec /bin/net_probe -- serve tcp 80
a1=$u
ip_a1=$(pod_ip "$a1" ftest-a)
[[ $ip_a1 == 198.18.1.* ]] || fail "ftest-a address: $(F status "$a1")"
expect_status 0 F run --net=ftest-a "$NETIMG" --exec /bin/net_probe -- call tcp "$ip_a1" 80
grep -q '^hello 198\.18\.1\.' "$T/out" || fail "pod to pod: $(cat "$T/out" "$T/err")"
ok "ftest-a (bridge): a pod reaches another pod of its network ($ip_a1, $(cat "$T/out"))"
expect_status 1 F run --net=ftest-b "$NETIMG" --exec /bin/net_probe -- call tcp "$ip_a1" 80
grep -q '^failed: connect' "$T/out" || fail "ftest-b reached ftest-a: $(cat "$T/out")"
ok "ftest-b (ptp): the pod of the other network is out of reach ($(cat "$T/out"))"
expect_status 0 F run --net=ftest-b:IP=198.18.2.77,ftest-a "$NETIMG" --exec /bin/sh -- -c \
  "ip -o -4 addr show; /bin/net_probe call tcp $ip_a1 80"
grep -q 'eth0 *inet 198\.18\.2\.77/' "$T/out" || fail "CNI_ARGS IP=: $(cat "$T/out" "$T/err")"
grep -q 'eth1 *inet 198\.18\.1\.' "$T/out" || fail "second network: $(cat "$T/out")"
grep -q '^hello 198\.18\.1\.' "$T/out" || fail "from two networks: $(cat "$T/out")"
ok "--net=ftest-b:IP=198.18.2.77,ftest-a: eth0 with the address asked, eth1 on ftest-a, reaching its pod"

# --- DNS: the network's without --dns; --dns and --dns=none keep their meaning
expect_status 0 F run --net=ftest-a "$NETIMG" --exec /bin/cat -- /etc/resolv.conf
grep -qx 'nameserver 198.18.1.53' "$T/out" && grep -qx 'search ferry.test' "$T/out" ||
  fail "resolv.conf from the network: $(cat "$T/out")"
expect_status 0 F run --net=ftest-a --dns=198.18.1.99 "$NETIMG" --exec /bin/cat -- /etc/resolv.conf
grep -qx 'nameserver 198.18.1.99' "$T/out" && ! grep -q 198.18.1.53 "$T/out" || fail "--dns: $(cat "$T/out")"
expect_status 0 F run --net=ftest-a --dns=none "$NETIMG" --exec /bin/cat -- /etc/resolv.conf
grep -qx 'nameserver 198.18.0.53' "$T/out" || fail "--dns=none: $(cat "$T/out")"
expect_status 0 F run --net=ftest-b "$NETIMG" --exec /bin/cat -- /etc/resolv.conf
grep -qx 'nameserver 198.18.0.53' "$T/out" || fail "a network without DNS: $(cat "$T/out")"
ok "DNS: the network's result becomes resolv.conf unless --dns says otherwise; without DNS the image's"

# --- all: default and every configured network, one interface each
expect_status 0 F run --net=all "$NETIMG" --exec /bin/sh -- -c "ip -o -4 addr show | grep -c eth"
[ "$(cat "$T/out")" = 4 ] || fail "--net=all: $(cat "$T/out" "$T/err")"
ok "--net=all: default, ftest-a, ftest-b and ftest-one"
F stop "$a1" >/dev/null
F status --wait=20s "$a1" >/dev/null
wait_for "ferry of a1 to exit" sh -c "! kill -0 ${bg[-1]} 2>/dev/null"
F gc --grace-period=0s >/dev/null
nothing_left "named networks"

# --- bad configurations: one line, exit 254 (2 for usage), nothing left
pods_before=$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)
refused() { # WHAT STATUS WANT ARGS...
  local what=$1 st=$2 want=$3
  shift 3
  expect_status "$st" F run "$@" "$NETIMG"
  one_line "$what"
  grep -q -- "$want" "$T/err" || fail "$what: $(cat "$T/err")"
  [ "$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)" = "$pods_before" ] ||
    fail "$what: a pod was left: $(find "$D/pods" -mindepth 2 -maxdepth 2)"
  nothing_left "$what"
  ok "$what: $(cat "$T/err")"
}
net_conf 40-unknown.conf '{"cniVersion":"0.4.0","name":"ftest-unknown","type":"nosuchplugin"}'
refused "an unknown plugin" 254 'no CNI plugin "nosuchplugin"' --net=ftest-unknown
net_conf 41-ipam.conf '{"cniVersion":"0.4.0","name":"ftest-ipam","type":"ptp","ipam":{"type":"nosuchipam"}}'
refused "an unknown IPAM plugin" 254 'no CNI plugin "nosuchipam"' --net=ftest-ipam
net_conf 42-broken.conf '{"cniVersion":"0.4.0","name":"ftest-broken",'
refused "broken JSON" 254 'cannot use the network configuration' --net=ftest-broken
rm "$D/net.d/40-unknown.conf" "$D/net.d/41-ipam.conf" "$D/net.d/42-broken.conf"
net_conf 43-open.conf '{"cniVersion":"0.4.0","name":"ftest-open","type":"ptp","ipam":{"type":"host-local","subnet":"198.18.4.0/24"}}'
chmod 0666 "$D/net.d/43-open.conf"
refused "a configuration others may write" 254 'must be root.s and writable by nobody else' --net=ftest-open
rm "$D/net.d/43-open.conf"
refused "an unknown network" 254 'no network "nosuch"' --net=nosuch
refused "a bad --net" 2 'not a network name' --net=../x
start_net_pod one --net=ftest-one "$NETIMG" --exec /bin/net_probe -- serve tcp 80
[ "$(pod_ip "$u" ftest-one)" = 198.18.3.10 ] || fail "ftest-one: $(F status "$u")"
leftovers >"$T/before"  # with the pod that holds the range's one address
pods_before=$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)
refused "an exhausted IPAM range" 254 'no IP addresses available' --net=ftest-one
