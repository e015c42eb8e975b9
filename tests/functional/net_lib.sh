# Shared by the network tests (net_*.sh): sourced after lib.sh and pods_lib.sh. Test "hosts" are
# network namespaces these tests make (test_host), reached over veth pairs with addresses
# of 198.18.0.0/15 (the benchmarking range, never routed); ferry's own networks use
# 172.16.28.0/24 and 172.16.29.0/24. No traffic goes anywhere else.

# The start of a network test: pods_test_setup, the CNI plugins and iptables, a test image
# ($NETIMG: busybox, /bin/net_probe, the ports http tcp/80 and dns udp/53) and the baseline
# of what a pod's networks leave on the host.
net_test_setup() {
  pods_test_setup
  [ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/portmap ] && [ -x /usr/lib/cni/host-local ] ||
    skip "the CNI plugins are not installed (containernetworking-plugins, dist/setup)"
  command -v iptables >/dev/null || skip "iptables is not installed (dist/setup)"
  : "${NET_PROBE:?NET_PROBE must point to the built net_probe}"
  trap net_cleanup EXIT
  nets=()
  local r=$T/netimg
  mkdir -p "$r/rootfs/bin" "$r/rootfs/etc" "$r/rootfs/tmp"
  cp /bin/busybox "$r/rootfs/bin/busybox"
  for a in sh cat echo ip sleep ls grep sed awk wc head; do ln -sf busybox "$r/rootfs/bin/$a"; done
  cp "$NET_PROBE" "$r/rootfs/bin/net_probe"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$r/rootfs/etc/group"
  printf 'nameserver 198.18.0.53\n' >"$r/rootfs/etc/resolv.conf"
  cat >"$r/manifest" <<'JSON'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/nettest","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
 "app":{"exec":["/bin/sh","-c","ip -o -4 addr show"],"user":"0","group":"0",
  "ports":[{"name":"http","protocol":"tcp","port":80},{"name":"dns","protocol":"udp","port":53}]}}
JSON
  tar -C "$r" --numeric-owner -czf "$T/netimg.aci" manifest rootfs
  NETIMG=$T/netimg.aci
  leftovers >"$T/before"
}

net_cleanup() {
  stop_running_pods
  local p
  for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  gc_pods
  for p in "${nets[@]}"; do umount "$p" 2>/dev/null || true; done
  ip link del ferrytest-br 2>/dev/null || true
  rm -rf "$T"
}

# Everything a pod's networks could leave behind: veths, bridges, iptables and ip6tables rules and
# chains, IPAM leases, network namespace mounts under $D. What a network keeps between its pods by design is
# left out: the bridge plugin's bridge (ferrytest-br, removed at cleanup), the portmap plugin's
# shared chains.
leftovers() (
  set +o pipefail
  ip -o link show type veth | grep -v ferrytest | awk -F': ' '{print "veth " $2}' | sed 's/@.*//'
  ip -o link show type bridge | grep -v ferrytest | awk -F': ' '{print "bridge " $2}'
  local save
  for save in iptables-save ip6tables-save; do
    command -v "$save" >/dev/null || continue
    "$save" | grep -E '^(:|-A )' |
      grep -vE '^:(PREROUTING|INPUT|OUTPUT|POSTROUTING|FORWARD) |^:CNI-HOSTPORT-(DNAT|MASQ|SETMARK) |^-A (PREROUTING|OUTPUT) -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT$|CNI portfwd' |
      sed "s/^/rule ${save%%-save} /"
  done
  find /var/lib/cni/networks -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null | sed 's/^/lease /'
  grep -F " $D/" /proc/self/mountinfo | awk '{print "mount " $5}'
)

# Fails unless the host holds exactly what it held at net_test_setup.
nothing_left() { # WHAT
  leftovers >"$T/after"
  if ! diff -u "$T/before" "$T/after" >"$T/left.diff"; then
    cat "$T/left.diff" >&2
    fail "$1: the pod's networks left something behind"
  fi
}

# A test host: a network namespace (a file under $T, never `ip netns`, whose /run/netns would
# outlive the test) joined to the host by a veth pair, the host's end ferrytest-hN with
# 198.18.N.1/24, the namespace's eth0 198.18.N.2/24 with a default route to the host.
test_host() { # NAME N
  local ns=$T/ns-$1 h=ferrytest-h$2
  touch "$ns"
  unshare --net="$ns" true
  nets+=("$ns")
  nsenter --net="$ns" ip link add eth0 type veth peer name "$h" netns 1
  ip addr add "198.18.$2.1/24" dev "$h"
  ip link set "$h" up
  nsenter --net="$ns" sh -c "ip addr add 198.18.$2.2/24 dev eth0 && ip link set eth0 up &&
    ip link set lo up && ip route add default via 198.18.$2.1"
}
in_host() { # NAME CMD...: CMD in the test host NAME's network namespace
  local ns=$T/ns-$1
  shift
  nsenter --net="$ns" "$@"
}

# A network configuration in $D/net.d, root's and 0644.
net_conf() { # FILE JSON
  mkdir -p "$D/net.d"
  printf '%s\n' "$2" >"$D/net.d/$1"
  chmod 0644 "$D/net.d/$1"
}

# Starts `ferry run ARGS` in the background until it prints "listening"; sets u (the UUID).
start_net_pod() { # NAME ARGS...
  local name=$1
  shift
  # ferry itself in the background (not the function F): ${bg[-1]} is ferry's PID.
  "$FERRY" --dir "$D" --insecure-options=image run --uuid-file-save="$T/$name.uuid" "$@" \
    >"$T/$name.out" 2>"$T/$name.err" &
  bg+=($!)
  wait_for "pod $name to listen" grep -q listening "$T/$name.out"
  u=$(cat "$T/$name.uuid")
}

# The first address of a pod on its network NAME (ferry status: networks=NAME:ADDR/LEN,…).
pod_ip() { # UUID NAME
  F status "$1" | sed -n 's/^networks=//p' | tr ',' '\n' | sed -n "s|^$2:\([^/]*\)/.*|\1|p" | head -1
}
