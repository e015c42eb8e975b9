#!/usr/bin/env bash
# --private-users (docs/private-users.md, SECURITY.md "User namespaces"): whatever gets out of
# a pod in a user namespace is an unprivileged host user of the pod's range, never root.
#  - What a pod process is on the host: every process of a running pod (seen from the host's
#    /proc, as the kernel checks it) has host uids and gids in the pod's range; the pod's root
#    is START.
#  - A pod process out of every other namespace of the pod (simulated: a process of the host's
#    mount, PID, network… namespaces joining only the pod's user namespace as its root, as a
#    kernel bug or a leaked descriptor would leave it) is handed the host's directories without
#    idmapping: it reads no root-only file, writes no root-owned file, changes no owner, makes
#    no device node, mounts nothing, signals no host process, and what it creates in a
#    world-writable host directory is owned by START.
#  - The same from inside the pod: a host directory given as a volume is idmapped, so the pod
#    sees its owners, and the pod's files there are mapped back; a setuid binary on it does not
#    give the pod's non-root user root (the volume is nosuid).
source "$(dirname "$0")/escape_lib.sh"
escape_setup
command -v nsenter >/dev/null || skip "nsenter (util-linux) is not installed"
if ! jq -e '.features.privateUsers == true' "$NS/stage1.json" >/dev/null; then
  [ -n "${FERRY_STAGE1:-}" ] || fail "the ns stage1 does not offer --private-users"
  skip "not on the $FERRY_STAGE1 stage1: it does not offer --private-users (stage1.json)"
fi

# On kvm the pod's user namespace is its guest kernel's: the host has no process of the pod in
# it (QEMU and virtiofsd are unprivileged host processes with ids of their own, which
# functional.kvm_stop checks) and no namespace of it to join, so the first two parts are ns's.
if applies_on_stage1 kvm "the pod's processes and user namespace are its guest kernel's, not the host's"; then
  img=$(hostile_image userns '{"exec":["/bin/sh","-c","echo ready; exec sleep 600"],"user":"0","group":"0"}')
  start_pod a --private-users "$img"
  start=$(jq -r '.privateUsers.uid' "$D/pods/run/$u/runtime.json")
  count=$(jq -r '.privateUsers.count' "$D/pods/run/$u/runtime.json")
  [ "$start" -ge 524288 ] && [ "$count" -gt 0 ] || fail "the pod's range: $start:$count"
  init=$(cat "$D/pods/run/$u/pid")
  dir=$(jq -r 'to_entries[0].value' "$D/pods/run/$u/cgroups.json")
  pids=$(find "$dir" -name cgroup.procs -exec cat {} + | sort -u)
  [ "$(echo "$pids" | wc -w)" -ge 2 ] || fail "the pod has processes: $pids"
  for pid in $pids; do
    while read -r key r e s f; do
      for id in $r $e $s $f; do
        [ "$id" -ge "$start" ] && [ "$id" -lt $((start + count)) ] ||
          fail "pod process $pid ($(cat /proc/$pid/comm)) has host $key $id, outside $start:$count"
      done
    done < <(awk '/^(Uid|Gid):/' "/proc/$pid/status")
  done
  [ "$(awk '/^Uid:/ {print $3}' "/proc/$init/status")" = "$start" ] || fail "the pod init is not START"
  ok "every process of the pod has host uids and gids in $start:$count; the pod's root is $start"

  # A pod process out of the pod's other namespaces.
  mkdir -p "$T/open" "$T/rootonly"
  chmod 0711 "$T" # reachable by path, as /tmp is
  chmod 1777 "$T/open"
  chmod 0700 "$T/rootonly"
  echo secret >"$T/rootonly/secret"
  echo original >"$T/open/rootfile"
  chmod 0666 "$T/open/rootfile" # world-writable: a write succeeds for anyone, root or not
  echo original >"$T/rootowned"
  escaped() { nsenter --user --target "$init" --setuid 0 --setgid 0 -- "$@"; }
  escaped sh -c 'id -u' >"$T/id" 2>&1 || fail "nsenter: $(cat "$T/id")"
  [ "$(cat "$T/id")" = 0 ] || fail "the escaped process is not the pod's root: $(cat "$T/id")"
  attempt() { # WHAT CMD...: must fail
    local what=$1
    shift
    if escaped "$@" >"$T/attempt" 2>&1; then fail "escaped pod root: $what succeeded: $(cat "$T/attempt")"; fi
  }
  attempt "read /etc/shadow" cat /etc/shadow
  attempt "read a 0700 root directory" cat "$T/rootonly/secret"
  attempt "write a root-owned file" sh -c "echo pwned >'$T/rootowned'"
  attempt "write the host's canary" sh -c "echo pwned >'$C/file'"
  attempt "chown a root file" chown 0:0 "$T/open/rootfile"
  attempt "chmod a root file" chmod 4755 "$T/open/rootfile"
  attempt "mknod a block device" mknod "$T/open/loop" b 7 0
  attempt "mount on the host" mount -t tmpfs none "$T/open"
  attempt "signal the host's PID 1" kill -0 1
  attempt "write a sysctl" sh -c 'echo 1 >/proc/sys/kernel/sysrq'
  escaped sh -c "echo made >'$T/open/made'" || fail "the escaped process cannot write a world-writable directory"
  [ "$(stat -c %u:%g "$T/open/made")" = "$start:$start" ] || fail "a file it made is owned by $(stat -c %u:%g "$T/open/made")"
  [ "$(cat "$T/rootowned")" = original ] || fail "a root-owned file changed"
  [ ! -e "$T/open/loop" ] || fail "a device node appeared"
  host_unchanged "a pod process out of the pod's namespaces"
  ok "out of the pod's other namespaces, the pod's root is host uid $start: no root file, owner, device, mount or signal"
fi

# A host volume: idmapped, nosuid. The pod's root sees root's files as its own (the caveat
# SECURITY.md states); a setuid copy of the ids probe made there does not make uid 1000 root.
mkdir -p "$T/vol"
echo host >"$T/vol/host-file"
chmod 0755 "$T/vol"
chmod 0600 "$T/vol/host-file" # root's alone on the host: the pod's root reads it as its owner
img2=$(hostile_image uvol '{"exec":["/bin/sh","-c","stat -c %u:%g /v/host-file; cat /v/host-file; echo pod >/v/pod-file; /bin/busybox cp /probe/ids /v/ids; /bin/busybox chmod 4755 /v/ids; /bin/busybox su -s /v/ids user"],"user":"0","group":"0","mountPoints":[{"name":"v","path":"/v"}]}')
run_pod "host volume" --private-users --volume "v,kind=host,source=$T/vol" "$img2"
[ "$st" = 0 ] || { cat "$T/out" "$T/err" >&2; fail "the host volume pod failed ($st)"; }
sed -n 1,2p "$T/out" >"$T/got"
printf '0:0\nhost\n' | diff -u - "$T/got" >&2 || fail "the pod does not see the volume's owners"
[ "$(stat -c %u:%g "$T/vol/pod-file")" = "0:0" ] || fail "the pod's file in the volume is $(stat -c %u:%g "$T/vol/pod-file") on the host"
grep -q '^ruid=1000 euid=1000 ' "$T/out" || { cat "$T/out" "$T/err" >&2; fail "a setuid binary on the volume gave uid 1000 another euid"; }
host_unchanged "a host volume"
ok "a host volume is idmapped (owners as on the host) and nosuid"

# The pod's root in its pod directory, where it may create files (SECURITY.md: the directory is
# sticky and group START, so nothing ferry wrote is its to change): reached through the pod
# init's working directory with CAP_SYS_PTRACE, which the operator may grant a pod in a user
# namespace — where the init is exec'd in the pod (kvm's guest, ns run by hand). The ns init that
# run's child runs without an exec (stage1/ABI.md §5) keeps the memory, hence the ptrace owner,
# of the host's user namespace: the pod's root cannot open /proc/1/cwd at all, and the same
# files are then planted from the host, owned by START, as the pod's root would have. What it
# plants where ferry writes later or never (exit while the pod runs, unit, net/ with a CNI plan
# whose IPAM keeps its state in a host directory) must never be read as ferry's: `status` does
# not block on a FIFO nor name a unit ferry never made, and rm runs no CNI plugin for a pod that
# had no networks.
plant='p=/proc/1/cwd; if ! (cd $p) 2>/dev/null; then echo "no /proc/1/cwd"; echo ready; exec sleep 600; fi; /bin/busybox mkfifo $p/exit; echo "{\"name\":\"victim.service\",\"bus\":\"system\",\"kind\":\"service\"}" >$p/unit; mkdir $p/net; echo "{\"networks\":[{\"name\":\"x\",\"ifName\":\"eth0\",\"args\":[],\"config\":{\"cniVersion\":\"0.4.0\",\"name\":\"planted\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"ferry-planted0\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"'"$C"'\",\"subnet\":\"10.231.0.0/24\"}}]}}]}" >$p/net/networks.json; echo "{}" >$p/net/eth0.json; ls $p/exit $p/unit $p/net/networks.json >/dev/null && echo ready; exec sleep 600'
img3=$(hostile_image plant "$(jq -cn --arg s "$plant" '{exec:["/bin/sh","-c",$s],user:"0",group:"0"}')")
start_pod plant --private-users --caps-retain=CAP_SYS_PTRACE "$img3"
if grep -qx 'no /proc/1/cwd' "$T/plant.out"; then
  [ "${FERRY_STAGE1:-ns}" = ns ] || fail "the pod's root could not reach /proc/1/cwd on ${FERRY_STAGE1}"
  ok "the ns pod's root, with CAP_SYS_PTRACE, cannot open /proc/1/cwd of an init that is run's child"
  P=$D/pods/run/$u
  start=$(jq -r '.privateUsers.uid' "$P/runtime.json")
  mkfifo "$P/exit"
  echo '{"name":"victim.service","bus":"system","kind":"service"}' >"$P/unit"
  mkdir "$P/net"
  jq -cn --arg c "$C" '{networks: [{name: "x", ifName: "eth0", args: [], config: {cniVersion: "0.4.0",
    name: "planted", plugins: [{type: "bridge", bridge: "ferry-planted0",
    ipam: {type: "host-local", dataDir: $c, subnet: "10.231.0.0/24"}}]}}]}' >"$P/net/networks.json"
  echo '{}' >"$P/net/eth0.json"
  chown -h "$start:$start" "$P/exit" "$P/unit" "$P/net" "$P/net/networks.json" "$P/net/eth0.json"
fi
set +e
timeout -k 5 20 "$FERRY" --dir "$D" status --format=json "$u" >"$T/out" 2>"$T/err"
st=$?
set -e
[ "$st" -ne 124 ] || fail "ferry status hung on the FIFO the pod planted as exit"
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "ferry status failed ($st)"; }
[ "$(jq -r '.state' "$T/out")" = running ] || { cat "$T/out" >&2; fail "the pod does not read as running"; }
[ "$(jq -r '.unit' "$T/out")" = null ] || { cat "$T/out" >&2; fail "ferry status names the unit the pod planted"; }
expect_status 0 F stop "$u"
F status --wait=20s "$u" >/dev/null 2>&1 || true
expect_status 0 F rm "$u"
host_unchanged "files the pod's root planted in its pod directory"
ok "planted exit, unit and net/ are not ferry's: status ends and names no unit, rm runs no CNI plugin"
echo "userns_escape: $checks checks passed"
