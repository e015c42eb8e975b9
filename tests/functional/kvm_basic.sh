#!/usr/bin/env bash
# The kvm stage1 (stage1/ABI.md §4 "kvm"): a pod is a QEMU virtual machine with its own kernel
# (the guest's release, not the host's), the app's stdout and stderr apart on ours, its exit
# code as the pod's, the metadata service (--mds-register) on its loopback, status/list/logs
# from the files the guest's pod init wrote through the share, the app's writes in its upper
# directory on the host, the hostname; a guest that does not boot in time is killed and
# reported; what the flavor cannot do is refused in one line; gc leaves no process, socket or
# mount.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/kvm_lib.sh"
source "$(dirname "$0")/services/lib.sh"
kvm_test_setup

F fetch "$BB" >/dev/null
kvm_leftovers >"$T/before"

# One pod: output, exit code, a separate kernel; registered with the metadata service, which
# the app reaches on its loopback (the guest's /init relays it over the channel).
svc_mds
set +e
F run --uuid-file-save="$T/u" --kvm-accel=tcg --mds-register --mds-socket "$MDS_SOCKET" "$BB" --exec /bin/sh -- -c \
  'echo out-line; echo err-line >&2; echo "kernel $(uname -r)"; echo "host $(hostname)"; echo "nproc $(/bin/busybox nproc)";
   echo "mds $(/bin/busybox wget -q -O - "$AC_METADATA_URL/acMetadata/v1/pod/uuid")";
   echo "mds-app $(/bin/busybox wget -q -O - "$AC_METADATA_URL/acMetadata/v1/apps/busybox/image/manifest" | /bin/busybox head -c 200)";
   echo written >/from-guest; exit 3' >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 3 ] || { cat "$T/out" "$T/err" >&2; fail "the pod exited $rc, want 3"; }
ok "the pod's exit code is the app's (3)"
u=$(cat "$T/u")
grep -qx out-line "$T/out" || fail "stdout lacks the app's line: $(cat "$T/out")"
grep -qx err-line "$T/err" || fail "stderr lacks the app's line: $(cat "$T/err")"
! grep -q err-line "$T/out" || fail "stderr's line on stdout"
ok "stdout and stderr relayed apart"
release=$(kvm_guest_release)
grep -qx "kernel $release" "$T/out" || fail "want the guest's kernel $release: $(grep kernel "$T/out")"
[ "$release" != "$(uname -r)" ] || skip "the host runs the guest's kernel: cannot tell them apart"
ok "the app runs on the guest's kernel ($release), not the host's ($(uname -r))"
# No CPU limit: as on every other flavor the app may use each of the host's CPUs.
grep -qx "nproc $(nproc)" "$T/out" || fail "want $(nproc) vCPUs (no CPU limit): $(grep nproc "$T/out")"
ok "a pod without CPU limits gets a vCPU per host CPU ($(nproc))"
hn=$(jq -r .hostname "$D/pods/run/$u/runtime.json")
grep -qx "host $hn" "$T/out" || fail "want hostname $hn: $(grep host "$T/out")"
ok "the pod's hostname"
grep -qx "mds $u" "$T/out" || fail "the metadata service's pod uuid: $(grep mds "$T/out"; tail -3 "$MDS_LOG")"
grep -q '^mds-app {.*"acKind"' "$T/out" || fail "the metadata service's image manifest: $(grep mds-app "$T/out")"
grep -q "unregistered pod $u" "$MDS_LOG" || sleep 1
grep -q "unregistered pod $u" "$MDS_LOG" || fail "the pod did not unregister: $(tail -3 "$MDS_LOG")"
ok "--mds-register: the app reached the metadata service on the guest's loopback (its uuid, its image manifest); unregistered at the end"
# --private-users: the pod's network namespace is its user namespace's, as on ns (the guest's
# own is not), so a net.* sysctl the operator grants is the pod's root's to set, and the
# metadata service listens in it.
expect_status 0 F run --uuid-file-save="$T/u-pu" --private-users --mds-register --mds-socket "$MDS_SOCKET" \
  --sysctl net.ipv4.ip_unprivileged_port_start=80 "$BB" --exec /bin/sh -- -c \
  'echo "port $(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"; echo "mds $(/bin/busybox wget -q -O - "$AC_METADATA_URL/acMetadata/v1/pod/uuid")"'
printf 'port 80\nmds %s\n' "$(cat "$T/u-pu")" | diff -u - "$T/out" >&2 || fail "--private-users: sysctl, metadata service"
ok "--private-users: a granted net.* sysctl applies in the pod's own network namespace; the metadata service is reached from it"
[ "$(jq -c .stage1Options "$D/pods/run/$u/runtime.json")" = '{"kvm-accel":"tcg"}' ] ||
  fail "--kvm-accel=tcg: runtime.json $(jq -c .stage1Options "$D/pods/run/$u/runtime.json")"
ok "--kvm-accel=tcg reaches the stage1 as runtime.json stage1Options"

# status, list, logs: what the guest's pod init wrote, through the share.
expect_status 0 F status "$u"
grep -qx exit=3 "$T/out" && grep -qx state=exited "$T/out" && grep -qx app-busybox=3 "$T/out" ||
  fail "status: $(cat "$T/out")"
expect_status 0 F status --format=json "$u"
[ "$(jq -r '.apps[0].exitCode // .apps.busybox.exitCode // empty' "$T/out" 2>/dev/null || true)" = 3 ] ||
  jq -e '.. | objects | select(.exitCode? == 3)' "$T/out" >/dev/null || fail "status json: $(cat "$T/out")"
expect_status 0 F list --no-legend --full
awk -v u="$u" '$1 == u && $2 == "busybox" && $4 == "exited" && $5 == 3' "$T/out" | grep -q . ||
  fail "list: $(cat "$T/out")"
ok "status and list show the pod exited 3"
grep -qx out-line "$D/pods/run/$u/logs/busybox.log" || fail "the log lacks the output"
[ -f "$D/pods/run/$u/ready" ] || fail "no ready file"
[ "$(cat "$D/pods/run/$u/apps/busybox/upper/from-guest")" = written ] ||
  fail "the app's write is not in its upper directory"
ok "the pod init's log, ready and the app's writes are on the host"
# A guest writes status/ and logs/ through its share: what it leaves there (a symlink to a host
# file, a FIFO) is read as no log and refused as a status, never followed or waited on.
P=$D/pods/run/$u
cp "$P/status/busybox.json" "$T/status.json"
echo host-secret >"$T/secret"
rm "$P/logs/busybox.log" "$P/status/busybox.json"
ln -s "$T/secret" "$P/logs/busybox.log"
mkfifo "$P/status/busybox.json"
timeout 20 "$FERRY" --dir "$D" logs "$u" >"$T/out" 2>&1 || [ $? != 124 ] || fail "ferry logs hung"
! grep -q host-secret "$T/out" || fail "ferry logs followed a symlink of logs/: $(cat "$T/out")"
expect_status 254 timeout 20 "$FERRY" --dir "$D" status "$u"
one_line "a FIFO as status/busybox.json"
rm "$P/logs/busybox.log" "$P/status/busybox.json"
mkfifo "$P/logs/busybox.log"
ln -s "$T/status.json" "$P/status/busybox.json"
timeout 20 "$FERRY" --dir "$D" logs "$u" >"$T/out" 2>&1 || [ $? != 124 ] || fail "ferry logs hung on a FIFO"
expect_status 254 timeout 20 "$FERRY" --dir "$D" status "$u"
one_line "a symlink as status/busybox.json"
rm "$P/logs/busybox.log" "$P/status/busybox.json"
cp "$T/status.json" "$P/status/busybox.json"
ok "logs/ and status/ as a guest may leave them: a symlink is not followed, a FIFO not waited on"
[ "$(stat -c %a "$D/pods/run/$u/kvm")" = 700 ] || fail "kvm/ is not 0700"
[ -z "$(find "$D/pods/run/$u/kvm" -perm /077 -type f)" ] ||
  fail "files others may read: $(find "$D/pods/run/$u/kvm" -perm /077 -type f)"
ok "the flavor's state is root's alone"

# The flavor packed as a stage1 image (stage1-images/stage1-kvm.aci, guest included) runs the
# same pod from the image's tree.
expect_status 0 "$FERRY_REAL" --dir "$D" --insecure-options=image run --stage1-from-dir=stage1-kvm.aci \
  "$BB" --exec /bin/sh -- -c 'echo "kernel $(uname -r)"'
grep -qx "kernel $release" "$T/out" || fail "the stage1 image's pod: $(cat "$T/out" "$T/err")"
ok "the kvm stage1 image runs a pod in its guest"

# A guest that does not say hello in time is killed and reported.
set +e
FERRY_KVM_BOOT_TIMEOUT=1 F run --uuid-file-save="$T/u2" "$BB" --exec /bin/true >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 254 ] || fail "a guest under a 1 s boot timeout: exit $rc, want 254"
grep -q "did not boot within 1 s: killed" "$T/err" || fail "not reported: $(cat "$T/err")"
ok "a guest that does not boot in time is killed and reported"

# What the flavor does not offer: one line, before a pod runs.
expect_status 254 env FERRY_KVM_ACCEL=bogus "$FERRY" --dir "$D" --insecure-options=image run "$BB" --exec /bin/true
grep -q "FERRY_KVM_ACCEL" "$T/err" && one_line "a bad FERRY_KVM_ACCEL"
# --kvm-accel / --stage1-opt: checked against the descriptor's options before a pod exists.
pods_before=$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)
expect_status 254 F run --kvm-accel=bogus "$BB" --exec /bin/true
grep -q 'stage1 "kvm" does not take kvm-accel=bogus (it takes kvm-accel=kvm, kvm-accel=tcg, kvm-accel=auto)' "$T/err" &&
  one_line "--kvm-accel=bogus" || fail "--kvm-accel=bogus: $(cat "$T/err")"
expect_status 254 F run --stage1-opt nosuch=1 "$BB" --exec /bin/true
grep -q 'stage1 "kvm" takes no option nosuch' "$T/err" && one_line "--stage1-opt nosuch=1" ||
  fail "--stage1-opt nosuch=1: $(cat "$T/err")"
expect_status 254 "$FERRY_REAL" --dir "$D" --insecure-options=image run --stage1-name=ns --kvm-accel=tcg "$BB" --exec /bin/true
grep -q 'stage1 "ns" takes no option kvm-accel' "$T/err" && one_line "--kvm-accel on ns" ||
  fail "--kvm-accel on ns: $(cat "$T/err")"
# (--private-users runs on kvm: functional.kvm.pods_private_users.)
[ "$(find "$D/pods" -mindepth 2 -maxdepth 2 | wc -l)" = "$pods_before" ] ||
  fail "a refused pod left a pod directory: $(find "$D/pods" -mindepth 2 -maxdepth 2)"
# Without a usable /dev/kvm (/dev/null bound over it in a mount namespace of ferry's own; a
# machine without one is the same): --kvm-accel=kvm fails in one line; auto takes TCG and says so.
nokvm() { unshare -m --propagation private sh -c \
  '[ ! -e /dev/kvm ] || mount --bind /dev/null /dev/kvm || exit 99; exec "$@"' nokvm "$@"; }
expect_status 254 nokvm "$FERRY_REAL" --dir "$D" --insecure-options=image run --stage1-name=kvm \
  --kvm-accel=kvm "$BB" --exec /bin/true
grep -qE 'cannot use KVM \(kvm-accel=kvm\): (open "/dev/kvm"|"/dev/kvm" is no KVM device)' "$T/err" &&
  one_line "KVM without a usable /dev/kvm" || fail "--kvm-accel=kvm without KVM: $(cat "$T/err")"
expect_status 0 nokvm "$FERRY_REAL" --debug --dir "$D" --insecure-options=image run --stage1-name=kvm \
  --kvm-accel=auto "$BB" --exec /bin/busybox -- echo auto-ran
grep -qE 'no usable KVM \((open "/dev/kvm"|"/dev/kvm" is no KVM device).*\): TCG' "$T/err" && grep -qx auto-ran "$T/out" ||
  fail "--kvm-accel=auto without KVM: $(cat "$T/out" "$T/err")"
set +e
F run --net=host "$BB" --exec /bin/true >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "not supported" "$T/err" || fail "--net=host: $rc $(cat "$T/err")"
ok "refused in one line: a bad accelerator (env or --kvm-accel), an option the stage1 does not take, KVM without a usable /dev/kvm (auto: TCG, said with --debug), --net=host"

F gc --grace-period=0s >/dev/null
kvm_leftovers >"$T/after"
diff "$T/before" "$T/after" >&2 || fail "gc left something"
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] || fail "pods left: $(find "$D/pods" -mindepth 2 -maxdepth 2)"
ok "gc leaves no process, socket or mount"
echo "# $checks checks"
