#!/usr/bin/env bash
# Pods of several apps on the kvm stage1, with volumes and isolators: an ACI app and an OCI app
# share an empty volume; a host volume is written through the share and a read-only one cannot
# be; the pod's memory and CPU isolators size the VM (its RAM and vCPUs), and an app's memory
# limit is enforced by the guest's kernel in the app's cgroup (OOM-killed, status says so); each
# app's output comes prefixed, the pod's code is the failing app's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
kvm_test_setup

F fetch "$BB" >/dev/null
F fetch "$OCI" >/dev/null
mkdir -p "$T/hostv" "$T/rov"
echo host-secret >"$T/rov/z"
set +e
F run --uuid-file-save="$T/u" --pod-memory=256M --pod-cpu=2 \
  --volume shared,kind=empty,mode=0777 --volume hostv,kind=host,source="$T/hostv" \
  --volume rov,kind=host,source="$T/rov",readOnly=true \
  "$BB" --name writer --mount volume=shared,target=/shared --mount volume=hostv,target=/host \
  --mount volume=rov,target=/ro --exec /bin/sh -- -c \
  'echo from-aci >/shared/a; echo from-guest >/host/x; echo "ro=$(cat /ro/z)";
   if echo no >/ro/y 2>/dev/null; then echo ro-written; fi
   echo "nproc=$(nproc)"; echo "memtotal=$(awk "/MemTotal/ {print \$2}" /proc/meminfo)";
   touch /shared/done' \
  --- "$OCI" --name reader --mount volume=shared,target=/shared -- -c 'echo from-oci >/shared/b' \
  --- "$BB" --name hog --memory 32M --mount volume=shared,target=/shared --exec /bin/sh -- -c \
  'while [ ! -e /shared/done ] || [ ! -e /shared/b ]; do sleep 0.1; done;
   exec /bin/busybox dd if=/dev/zero of=/dev/null bs=100M count=1' >"$T/out" 2>"$T/err"
rc=$?
set -e
u=$(cat "$T/u")
[ "$rc" -eq 137 ] || { cat "$T/out" "$T/err" >&2; fail "the pod exited $rc, want 137 (the hog)"; }
v=$D/pods/run/$u/volumes/shared
[ "$(cat "$v/a")" = from-aci ] && [ "$(cat "$v/b")" = from-oci ] || fail "shared volume: $(ls -la "$v")"
ok "an ACI app and an OCI app share an empty volume"
[ "$(cat "$T/hostv/x")" = from-guest ] || fail "the host volume lacks the guest's write"
grep -qx "\[writer\] ro=host-secret" "$T/out" || fail "the read-only volume: $(cat "$T/out")"
! grep -q ro-written "$T/out" && [ ! -e "$T/rov/y" ] || fail "a read-only volume was written"
ok "a host volume written from the guest, a read-only one read and not written"
grep -qx "\[writer\] nproc=2" "$T/out" || fail "want 2 vCPUs (--pod-cpu=2): $(grep nproc "$T/out")"
mem=$(sed -n 's/^\[writer\] memtotal=//p' "$T/out")
# 256 MiB + the flavor's 160 MiB, less what the guest's kernel keeps for itself.
[ "$mem" -gt $((300 * 1024)) ] && [ "$mem" -le $((416 * 1024)) ] ||
  fail "want about 416 MiB of guest RAM, MemTotal is $mem kB"
ok "--pod-memory and --pod-cpu size the VM ($mem kB, 2 vCPUs)"
expect_status 0 F status "$u"
grep -qx 'app-hog=signal:SIGKILL' "$T/out" && grep -qx 'app-hog-oom=true' "$T/out" &&
  grep -qx 'app-writer=0' "$T/out" && grep -qx 'app-reader=0' "$T/out" ||
  fail "status: $(cat "$T/out")"
ok "--memory: the guest's kernel OOM-kills the app in its cgroup, status says so"

F gc --grace-period=0s >/dev/null
echo "# $checks checks"
