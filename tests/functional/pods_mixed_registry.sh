#!/usr/bin/env bash
# One pod on the ns stage1 (or FERRY_STAGE1's) of an appc app (the busybox ACI written by actool) and an OCI app
# pulled by `ferry run` itself from Debian's docker-registry (docker://, pushed there by skopeo),
# sharing one `kind=empty` volume: the ACI app writes, the OCI app waits for the file (bounded),
# reads it and answers; the ACI app waits for the answer. Both exit 0; `ferry status` says so.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || skip "the ns stage1 needs root"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
NS=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/ns
[ -x "$NS/bin/ferry-stage2" ] || skip "the ns stage1 is not built ($NS)"
# FERRY_STAGE1 (functional.nspawn.* and functional.kvm.*): the pod on that flavor.
[ -z "${FERRY_STAGE1:-}" ] || use_stage1_flavor
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image,http "$@"; }
BB=$FIXTURES/bb.aci
cleanup() {
  gc_pods
  D=$T/data2 gc_pods
  rm -rf "$T"
}
trap cleanup EXIT
. "$here/services/lib.sh"  # its EXIT trap stops the registry, then runs cleanup
svc_require

svc_registry plain
ref=$(svc_push "oci:$FIXTURES/oci:v1" "ferry/mixed:v1" 2>"$T/push.err") || { cat "$T/push.err" >&2; fail "skopeo push"; }
ok "pushed oci:v1 to docker://$ref with skopeo"

# wait_file PATH: a busybox sh loop, at most 10 s
wait_file='i=0; while [ ! -f "$1" ]; do i=$((i+1)); [ $i -le 200 ] || { echo "timed out waiting for $1"; exit 9; }; sleep 0.05; done'
expect_status 0 F run --uuid-file-save="$T/u" --volume x,kind=empty,mode=0777 \
  "$BB" --name writer --mount volume=x,target=/x --exec /bin/sh -- -c "
    echo from-aci >/x/msg.tmp && mv /x/msg.tmp /x/msg
    wait_file() { $wait_file; }
    wait_file /x/reply && echo \"reply:\$(cat /x/reply)\"" \
  --- "docker://$ref" --name reader --mount volume=x,target=/x -- -c "
    wait_file() { $wait_file; }
    wait_file /x/msg && echo \"read:\$(cat /x/msg)\" && id -un && echo from-oci >/x/reply.tmp && mv /x/reply.tmp /x/reply"
u=$(cat "$T/u")
grep -qx '\[reader\] read:from-aci' "$T/out" || fail "the OCI app did not read the ACI app's file: $(cat "$T/out" "$T/err")"
grep -qx '\[reader\] app' "$T/out" || fail "the OCI app did not run as its image's user: $(cat "$T/out")"
grep -qx '\[writer\] reply:from-oci' "$T/out" || fail "the ACI app did not read the OCI app's answer: $(cat "$T/out")"
ok "ACI writer and docker:// reader share one empty volume, both ways"
expect_status 0 F status "$u"
grep -qx 'state=exited' "$T/out" && grep -qx 'app-writer=0' "$T/out" && grep -qx 'app-reader=0' "$T/out" &&
  grep -qx 'exit=0' "$T/out" || fail "status: $(cat "$T/out")"
ok "ferry status: both apps exited 0 ($(tr '\n' ' ' <"$T/out"))"
expect_status 0 F cat-manifest "$u"
jq -e '[.apps[].name] == ["writer","reader"] and all(.apps[]; .image.id | test("^sha512-"))' "$T/out" >/dev/null ||
  fail "cat-manifest: $(cat "$T/out")"
expect_status 0 F image list
grep -q 'ferry/mixed' "$T/out" || fail "the registry image is not in the store: $(cat "$T/out")"
ok "the pod manifest names both apps by image ID; the registry image is in the store"

# A fetch renders the tree while the layers download: the first run of the image finds it and
# renders nothing (the same tree directory, no other, nothing in cas/tmp).
D2=$T/data2
expect_status 0 "$FERRY" --dir "$D2" --insecure-options=http fetch "docker://$ref"
id=$(cat "$T/out")
[ "$(ls "$D2/cas/trees" | wc -l)" = 1 ] || fail "fetch rendered no tree: $(ls -A "$D2/cas")"
tree=$(ls "$D2/cas/trees")
before=$(stat -c '%i %Y' "$D2/cas/trees/$tree/rootfs")
expect_status 0 "$FERRY" --dir "$D2" run "$id" -- -c 'echo first-run'
grep -q 'first-run' "$T/out" || fail "first run: $(cat "$T/out" "$T/err")"
[ "$(ls "$D2/cas/trees")" = "$tree" ] || fail "the first run made another tree: $(ls "$D2/cas/trees")"
[ "$(stat -c '%i %Y' "$D2/cas/trees/$tree/rootfs")" = "$before" ] || fail "the first run rendered the tree again"
[ -z "$(ls -A "$D2/cas/tmp")" ] || fail "the first run left $(ls "$D2/cas/tmp") in cas/tmp"
ok "fetch rendered the tree; the first run used it as it was"
D=$D2 gc_pods
gc_pods
if grep -F " $D/" /proc/self/mountinfo >"$T/mounts.left"; then cat "$T/mounts.left" >&2; fail "mounts left"; fi
echo "pods_mixed_registry: $checks checks passed"
