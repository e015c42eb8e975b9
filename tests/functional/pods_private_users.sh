#!/usr/bin/env bash
# --private-users (docs/private-users.md): the flag parses rkt's and nspawn's forms, and a stage1
# whose descriptor lacks the feature "privateUsers" — today every stage1, the ns one included —
# makes ferry refuse it in one line before any pod exists, rather than run the pod as host root.
# stage0's range registry: prepare records the range in runtime.json and $dir/userns, empty
# volumes are owned by it, refusals (host users, /etc/subuid, another pod's auto range) leave
# nothing, and rm, gc and gc's sweep of vanished pods release it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup

no_pod_left() {
  local left
  left=$(find "$D/pods" -mindepth 2 -maxdepth 2 2>/dev/null || true)
  [ -z "$left" ] || fail "$1 left a pod behind: $left"
  [ ! -e "$D/userns" ] || fail "$1 recorded an ID range: $(ls "$D/userns")"
}

refusal='ferry: not supported: stage1 "ns" does not offer --private-users'
for form in --private-users --private-users=auto --private-users=655360:65536; do
  for cmd in run prepare; do
    expect_status 254 F "$cmd" "$form" "$BB"
    [ "$(cat "$T/err")" = "$refusal" ] || fail "$cmd $form: $(cat "$T/err")"
    no_pod_left "$cmd $form"
  done
done
# The bare flag never takes the next word as its value: the image after it is still the image.
expect_status 254 F run "$BB" --private-users --exec /bin/true
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

expect_status 0 F run --help
grep -q -- '--private-users\[=auto|UID:COUNT\]' "$T/out" || fail "run --help: $(cat "$T/out")"
ok "run --help lists --private-users[=auto|UID:COUNT]"
echo "pods_private_users: $checks checks passed"
