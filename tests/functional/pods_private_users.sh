#!/usr/bin/env bash
# --private-users (docs/private-users.md): the flag parses rkt's and nspawn's forms, and a stage1
# whose descriptor lacks the feature "privateUsers" — today every stage1, the ns one included —
# makes ferry refuse it in one line before any pod exists, rather than run the pod as host root.
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

expect_status 0 F run --help
grep -q -- '--private-users\[=auto|UID:COUNT\]' "$T/out" || fail "run --help: $(cat "$T/out")"
ok "run --help lists --private-users[=auto|UID:COUNT]"
echo "pods_private_users: $checks checks passed"
