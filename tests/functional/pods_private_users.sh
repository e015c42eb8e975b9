#!/usr/bin/env bash
# --private-users (docs/private-users.md): the flag parses rkt's and nspawn's forms, and a stage1
# whose descriptor lacks the feature "privateUsers" (a copy of the ns stage1 without it) makes
# ferry refuse it in one line before any pod exists, rather than run the pod as host root.
# stage0's range registry: prepare records the range in runtime.json and $dir/userns, empty
# volumes are owned by it, refusals (host users, /etc/subuid, another pod's auto range) leave
# nothing, and rm, gc and gc's sweep of vanished pods release it. Pods on the ns stage1 in a
# user namespace: root inside, the range outside (every process, upper files, --no-overlay
# copies), the store's tree untouched, enter in the namespace, two pods apart, --net=host.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup

no_pod_left() {
  local left
  left=$(find "$D/pods" -mindepth 2 -maxdepth 2 2>/dev/null || true)
  [ -z "$left" ] || fail "$1 left a pod behind: $left"
  [ ! -e "$D/userns" ] || fail "$1 recorded an ID range: $(ls "$D/userns")"
}

S1N=$T/stage1-lacks
cp -a "$NS" "$S1N"
jq -c 'del(.features.privateUsers)' "$NS/stage1.json" >"$S1N/stage1.json"
refusal="ferry: not supported: stage1 \"$(jq -r .name "$NS/stage1.json")\" does not offer --private-users"
for form in --private-users --private-users=auto --private-users=655360:65536; do
  for cmd in run prepare; do
    expect_status 254 F "$cmd" --stage1-path="$S1N" "$form" "$BB"
    [ "$(cat "$T/err")" = "$refusal" ] || fail "$cmd $form: $(cat "$T/err")"
    no_pod_left "$cmd $form"
  done
done
# The bare flag never takes the next word as its value: the image after it is still the image.
expect_status 254 F run --stage1-path="$S1N" "$BB" --private-users --exec /bin/true
[ "$(cat "$T/err")" = "$refusal" ] || fail "flag after the image: $(cat "$T/err")"
no_pod_left "a bare --private-users after the image"
ok "--private-users[=auto|UID:COUNT] on a stage1 without the feature: 254, one line, no pod"

for bad in yes pick 1000 1000:0 0x80000:65536 4294967295:1 -1:5; do
  expect_status 2 F run "--private-users=$bad" "$BB"
  grep -q "invalid --private-users value \"$bad\"" "$T/err" || fail "--private-users=$bad: $(cat "$T/err")"
  no_pod_left "--private-users=$bad"
done
ok "a malformed --private-users value is a usage error (2)"

# The range registry (stage0's part, whatever the stage1 does with the range): a copy of the ns
# stage1 whose descriptor declares the feature, used only to prepare pods, never to run them.
S1P=$T/stage1-declares
cp -a "$NS" "$S1P"
jq -c '.features.privateUsers = true' "$NS/stage1.json" >"$S1P/stage1.json"
P=(prepare --stage1-path="$S1P")
range_of() { jq -cS '.privateUsers' "$D/pods/prepared/$1/runtime.json"; }
record_of() { jq -cS . "$D/userns/$1"; }

expect_status 0 F "${P[@]}" --private-users --volume data,kind=empty,uid=5,gid=6,mode=0750 "$BB"
u1=$(cat "$T/out")
[ "$(range_of "$u1")" = '{"count":65536,"gid":524288,"uid":524288}' ] ||
  fail "auto: runtime.json privateUsers: $(range_of "$u1")"
[ "$(record_of "$u1")" = '{"auto":true,"count":65536,"start":524288}' ] ||
  fail "auto: registry record: $(record_of "$u1")"
[ "$(stat -c %u:%g:%a "$D/pods/prepared/$u1/volumes/data")" = "524293:524294:750" ] ||
  fail "empty volume: $(stat -c %u:%g:%a "$D/pods/prepared/$u1/volumes/data")"
expect_status 0 F "${P[@]}" --private-users=auto "$BB"
u2=$(cat "$T/out")
[ "$(range_of "$u2")" = '{"count":65536,"gid":589824,"uid":589824}' ] ||
  fail "a second auto pod: $(range_of "$u2")"
expect_status 0 F "${P[@]}" --private-users=1000000:1000 "$BB"
u3=$(cat "$T/out")
[ "$(range_of "$u3")" = '{"count":1000,"gid":1000000,"uid":1000000}' ] ||
  fail "UID:COUNT: $(range_of "$u3")"
expect_status 0 F "${P[@]}" "$BB"
u4=$(cat "$T/out")
[ "$(range_of "$u4")" = null ] && [ ! -e "$D/userns/$u4" ] || fail "no flag: $(range_of "$u4")"
ok "prepare: the range in runtime.json and the registry, disjoint auto ranges, empty volumes owned by it"

# Refusals after the range was taken give it back, and leave no pod.
n=$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)
expect_status 254 F "${P[@]}" --private-users=2000000:10 --volume v,kind=empty,uid=10 "$BB"
grep -q 'volume "v": uid 10/gid 0 is outside the pod.s 10 IDs' "$T/err" || fail "volume uid: $(cat "$T/err")"
[ "$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)" = "$n" ] || fail "a refused prepare left a pod"
[ "$(ls "$D/userns" | grep -vc lock)" = 3 ] || fail "a refused prepare kept its range: $(ls "$D/userns")"
expect_status 254 F "${P[@]}" --private-users=1:100 "$BB"
grep -q 'cannot allocate an ID range for .*: 1:100: it overlaps user' "$T/err" || fail "uid 1: $(cat "$T/err")"
expect_status 254 F "${P[@]}" --private-users=500000:30000 "$BB"
grep -q "overlaps the range 524288:65536 of pod $u1" "$T/err" || fail "overlapping auto: $(cat "$T/err")"
# /etc/subuid as the host has it: an overlay on /etc in a mount namespace of the test's own.
mkdir -p "$T/etc-upper" "$T/etc-work"
echo 'alice:655360:65536' >"$T/etc-upper/subuid"
with_subuid() {
  unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && shift 2 && exec "$@"' \
    sh "$T/etc-upper" "$T/etc-work" "$FERRY" --dir "$D" --insecure-options=image "$@"
}
with_subuid "${P[@]}" --private-users=700000:10 "$BB" >"$T/out" 2>"$T/err" && fail "subuid overlap accepted"
grep -q '700000:10: it overlaps range 655360:65536 of alice in /etc/subuid' "$T/err" || fail "subuid: $(cat "$T/err")"
with_subuid "${P[@]}" --private-users "$BB" >"$T/out" 2>"$T/err" || fail "auto with /etc/subuid: $(cat "$T/err")"
u5=$(cat "$T/out")
[ "$(range_of "$u5")" = '{"count":65536,"gid":720896,"uid":720896}' ] ||
  fail "auto beside /etc/subuid: $(range_of "$u5")"
[ "$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)" = "$((n + 1))" ] || fail "a refused range left a pod"
ok "refused ranges: outside the volume's IDs, host users, another pod's auto range, /etc/subuid"

# rm, gc, and a pod directory removed by hand each give the range back.
expect_status 0 F rm "$u1"
[ ! -e "$D/userns/$u1" ] || fail "rm kept the range of $u1"
rm -rf "$D/pods/prepared/$u2"
expect_status 0 F gc --expire-prepared=1h
[ ! -e "$D/userns/$u2" ] || fail "gc kept the range of a pod removed by hand"
[ -e "$D/userns/$u3" ] || fail "gc released the range of a pod that exists"
expect_status 0 F "${P[@]}" --private-users "$BB"
u6=$(cat "$T/out")
[ "$(range_of "$u6")" = '{"count":65536,"gid":524288,"uid":524288}' ] || fail "a released range is not reused: $(range_of "$u6")"
expect_status 0 F gc --expire-prepared=0s
[ -z "$(ls "$D/userns" | grep -v '^lock$')" ] || fail "gc kept ranges: $(ls "$D/userns")"
ok "rm, gc and the orphan sweep release the ranges; a released range is reused"

# --- pods in a user namespace (the ns and kvm stage1s declare privateUsers; on kvm the guest's
# kernel runs the pod in a user namespace mapping the range, and the share writes what the pod
# writes with the guest's ids, which are the range's)
jq -e '.features.privateUsers == true' "$NS/stage1.json" >/dev/null || fail "the ${FERRY_STAGE1:-ns} stage1 does not declare privateUsers"
gc_pods
# Every process in the pod's cgroups: its host uids and gids (real, effective, saved, fs).
host_ids() {
  local dir pid
  dir=$(jq -r 'to_entries[0].value' "$D/pods/run/$1/cgroups.json")
  for pid in $(find "$dir" -name cgroup.procs -exec cat {} + | sort -u); do
    awk '/^(Uid|Gid):/ {print $2; print $3; print $4; print $5}' "/proc/$pid/status"
  done
}
in_range() { # START COUNT: every line of stdin within
  local id n=0
  while read -r id; do
    [ "$id" -ge "$1" ] && [ "$id" -lt $(($1 + $2)) ] || return 1
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
}
# start_bg NAME ARGS...: a pod in the background until its app prints "ready"; sets u.
start_bg() {
  local name=$1
  shift
  F run --uuid-file-save="$T/$name.u" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  bg+=($!)
  wait_for "pod $name to start" grep -q '^ready$' "$T/$name.out"
  u=$(cat "$T/$name.u")
}
stop_bg() { # UUID
  F stop "$1" >/dev/null
  F status --wait=20s "$1" >/dev/null
}

expect_status 0 F fetch "$BB"
store_tree=$(find "$D/cas" -type d -name rootfs -path '*trees*' | head -1)
[ -d "$store_tree" ] || fail "no tree in the store"
treesum "$store_tree" >"$T/store.before"
inpod='id -u; id -g; awk "{print \$1, \$2, \$3}" /proc/self/uid_map /proc/self/gid_map; grep -c " /dev/null " /proc/self/mountinfo; echo in-pod >/created; echo changed >>/etc/passwd; touch /bin/busybox'
# Files the pod's root gives to other IDs of the pod: the range's; an ID outside it is refused.
inpod_ids='touch /a /v/a; chown 1000:2000 /a /v/a; mkdir -p /v/d; chown 65535:65535 /v/d; chown 65536 /v/a 2>/dev/null || echo outside-refused'
expect_status 0 F run --private-users --uuid-file-save="$T/u1" --volume v,kind=empty "$BB" --mount volume=v,target=/v --exec /bin/sh -- -c "$inpod; $inpod_ids"
u1=$(cat "$T/u1")
printf '0\n0\n0 524288 65536\n0 524288 65536\n1\noutside-refused\n' | diff -u - "$T/out" >&2 ||
  fail "in the pod: id, uid_map, gid_map, /dev/null a bind of the host's node (mknod is refused)"
up=$D/pods/run/$u1/apps/busybox/upper
for f in created etc/passwd bin/busybox; do
  [ "$(stat -c %u:%g "$up/$f")" = "524288:524288" ] || fail "upper/$f is $(stat -c %u:%g "$up/$f")"
done
vol=$D/pods/run/$u1/volumes/v
[ "$(stat -c %u:%g "$up/a" "$vol/a" "$vol/d" | tr '\n' ' ')" = "525288:526288 525288:526288 589823:589823 " ] ||
  fail "files given to pod IDs 1000:2000 and 65535: $(stat -c '%n %u:%g' "$up/a" "$vol/a" "$vol/d")"
# Nothing the pod wrote, in its root or its volume, is owned by a host ID outside the range.
find "$up" "$vol" -printf '%U\n%G\n' | in_range 524288 65536 ||
  fail "host files outside the range: $(find "$up" "$vol" -printf '%p %U:%G\n' | awk '$2 !~ /^5[0-9]{5}:/')"
treesum "$store_tree" | diff -u "$T/store.before" - >&2 || fail "the store's tree changed"
ok "in the pod: root, the range as its maps, /dev/null the host's node; what it writes in upper and a volume is the range's (START+id), an ID outside it refused; the store untouched"

expect_status 0 F run --private-users=1000000:70000 --no-overlay --uuid-file-save="$T/u2" "$BB" --exec /bin/sh -- -c "$inpod"
u2=$(cat "$T/u2")
printf '0\n0\n0 1000000 70000\n0 1000000 70000\n1\n' | diff -u - "$T/out" >&2 || fail "--no-overlay, UID:COUNT: in the pod"
rootfs=$D/pods/run/$u2/apps/busybox/rootfs
[ "$(stat -c %u:%g "$rootfs" "$rootfs/bin/busybox" "$rootfs/created" | sort -u)" = "1000000:1000000" ] ||
  fail "--no-overlay: the copy's owners: $(stat -c '%n %u:%g' "$rootfs" "$rootfs/bin/busybox" "$rootfs/created")"
treesum "$store_tree" | diff -u "$T/store.before" - >&2 || fail "--no-overlay: the store's tree changed"
ok "--no-overlay with UID:COUNT: a copy owned by the range, the store untouched"

start_bg a --private-users "$BB" --exec /bin/sh -- -c 'echo ready; exec sleep 600'
ua=$u
start_bg b --private-users "$BB" --exec /bin/sh -- -c 'echo ready; exec sleep 600'
ub=$u
sa=$(jq -r '.privateUsers.uid' "$D/pods/run/$ua/runtime.json")
sb=$(jq -r '.privateUsers.uid' "$D/pods/run/$ub/runtime.json")
[ "$sa" != "$sb" ] && [ $((sa > sb ? sa - sb : sb - sa)) -ge 65536 ] || fail "two pods share IDs: $sa $sb"
# On kvm the pod's processes are the guest's: the host runs QEMU and virtiofsd for it, without
# privileges (ABI §4 "kvm"), in no cgroup of cgroups.json; the files above show the range.
on_host=1
applies_on_stage1 kvm "the pod's processes are the guest's, not the host's" || on_host=0
if [ "$on_host" = 1 ]; then
  host_ids "$ua" | in_range "$sa" 65536 || fail "pod a's processes: $(host_ids "$ua" | sort -u | tr '\n' ' ')"
  host_ids "$ub" | in_range "$sb" 65536 || fail "pod b's processes: $(host_ids "$ub" | sort -u | tr '\n' ' ')"
fi
F enter "$ua" /bin/sh -c 'id -u; awk "{print \$2}" /proc/self/uid_map; echo entered; exec sleep 600' >"$T/enter.out" 2>&1 &
bg+=($!)
wait_for "the entered command" grep -q '^entered$' "$T/enter.out"
[ "$(sed -n 1,2p "$T/enter.out" | tr '\n' ' ')" = "0 $sa " ] || fail "enter: $(cat "$T/enter.out")"
if [ "$on_host" = 1 ]; then
  n=$(host_ids "$ua" | wc -l)
  [ "$n" -ge 24 ] || fail "pod a with an entered command has $((n / 8)) processes"
  host_ids "$ua" | in_range "$sa" 65536 || fail "pod a with an entered command: $(host_ids "$ua" | sort -u | tr '\n' ' ')"
fi
ok "two pods at once: disjoint ranges, every process in its own; enter joins the user namespace as its root"

stop_bg "$ua"
stop_bg "$ub"
[ -e "$D/userns/$ua" ] || fail "an exited pod's range was released before gc"
expect_status 0 F gc --grace-period=0s
for x in "$u1" "$u2" "$ua" "$ub"; do [ ! -e "$D/userns/$x" ] || fail "gc kept the range of $x"; done
ok "gc releases the ranges of the pods it deletes"

if applies_on_stage1 kvm "no --net=host (its pods are VMs)"; then
  expect_status 0 F run --private-users --net=host "$BB" --exec /bin/sh -- -c 'id -u; cat /sys/kernel/uevent_seqnum >/dev/null && echo sys-readable; touch /sys/x 2>/dev/null || echo sys-ro'
  printf '0\nsys-readable\nsys-ro\n' | diff -u - "$T/out" >&2 || fail "--net=host: $(cat "$T/err")"
  ok "--net=host: the host's /sys, read-only"
fi

# A data directory on a nosuid,nodev mount: the pod's mount namespace gets those flags locked
# (it is less privileged than the host's), so every read-only remount stage2 makes there (a
# read-only volume, the read-only root) must carry them or fail with EPERM.
N=$T/nosuid
mkdir -p "$N"
mount -t tmpfs -o nosuid,nodev,mode=0700 tmpfs "$N"
ro_pod() {
  "$FERRY" --dir "$N/data" --insecure-options=image run --private-users --volume ro,kind=empty,readOnly=true \
    "$BB" --mount volume=ro,target=/ro --readonly-rootfs --exec /bin/sh -- -c \
    'touch /ro/x /y 2>/dev/null || echo ro-refused; grep " /ro " /proc/self/mountinfo | cut -d" " -f6'
}
rc=0
ro_pod >"$T/out" 2>"$T/err" || rc=$?
"$FERRY" --dir "$N/data" gc --grace-period=0s >/dev/null 2>&1 || true
umount "$N"
[ "$rc" = 0 ] || fail "read-only mounts on a nosuid,nodev data directory: $(cat "$T/err")"
printf 'ro-refused\nro,nosuid,nodev,relatime\n' | diff -u - "$T/out" >&2 || fail "the read-only volume's flags"
ok "read-only remounts in the pod keep the flags the kernel locked (nosuid, nodev)"

expect_status 0 F run --help
grep -q -- '--private-users\[=auto|UID:COUNT\]' "$T/out" || fail "run --help: $(cat "$T/out")"
ok "run --help lists --private-users[=auto|UID:COUNT]"
echo "pods_private_users: $checks checks passed"
