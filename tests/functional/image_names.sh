#!/usr/bin/env bash
# Images by the names a user has for them (issue 13 items 3, 4, 10, 12): the image commands take
# an ID, an ID prefix or any name the image was fetched under; every name `image list` shows can
# be pasted back; a name that cannot be an image says what would be; read-only commands create
# nothing; fetch and run mark an image used.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }

# --- `ferry image` alone lists the image commands.
expect_status 0 "$FERRY" image
for c in list rm gc verify export extract render cat-manifest convert; do
  grep -q "^  image $c " "$T/out" || fail "'ferry image' does not list image $c: $(cat "$T/out")"
done
expect_status 2 "$FERRY" image bogus
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'unknown command "image bogus"' "$T/err" || fail "image bogus: $(cat "$T/err")"
ok "'ferry image' lists the image commands; an unknown one is a usage error"

# --- read-only commands on a data directory that does not exist create nothing.
for cmd in "list" "image list" "status 0123abcd" "cat-manifest 0123abcd" "logs 0123abcd" \
  "image cat-manifest sha512-0123abcd" "image export sha512-0123abcd $T/x.aci" \
  "image extract sha512-0123abcd $T/x-dir"; do
  # shellcheck disable=SC2086
  "$FERRY" --dir "$T/none" $cmd >"$T/out" 2>"$T/err" || true
  [ ! -e "$T/none" ] || fail "'ferry $cmd' created --dir"
  [ "$(wc -l <"$T/err")" -le 1 ] || fail "'ferry $cmd': $(cat "$T/err")"
done
expect_status 254 "$FERRY" --dir "$T/none" status 0123abcd
grep -q 'no pod "0123abcd"' "$T/err" || fail "status on no pods: $(cat "$T/err")"
ok "list, status, cat-manifest, logs, image list/cat-manifest/export/extract create no --dir"

expect_status 0 F fetch "$FIXTURES/bb.aci"
aci=$(cat "$T/out")
expect_status 0 F fetch "oci:$FIXTURES/oci:v1"
oci=$(cat "$T/out")
abs=$(cd "$FIXTURES/oci" && pwd)
expect_status 0 F image list
table_aligned "$T/out" 7
expect_status 0 F image list --no-legend
awk '{print $3}' "$T/out" | grep -qx "oci:$abs:v1" || fail "image list NAME of the layout: $(cat "$T/out")"
awk '{print $3}' "$T/out" | grep -qx "example.com/busybox:1.36" ||
  fail "image list NAME of the ACI: $(cat "$T/out")"
expect_status 0 F --format=json image list
[ "$(jq -r '.[] | select(.lastUsedAt == "-") | .id' "$T/out")" = "" ] ||
  fail "fetch did not mark the images used: $(cat "$T/out")"
jq -r '.[] | .ref, .names[].ref' "$T/out" | sort -u >"$T/refs"
[ "$(wc -l <"$T/refs")" -ge 2 ] || fail "image list --format=json refs: $(cat "$T/refs")"
while read -r ref; do
  expect_status 0 F image cat-manifest "$ref"
done <"$T/refs"
ok "image list names each image as run takes it ($(tr '\n' ' ' <"$T/refs")); fetch marks it used"

# --- every command that takes an image takes any of its names.
for ref in "$aci" "${aci:0:20}" "${aci#sha512-}" "example.com/busybox:1.36" "example.com/busybox"; do
  expect_status 0 F image cat-manifest "$ref"
  jq -e '.name == "example.com/busybox"' "$T/out" >/dev/null || fail "cat-manifest $ref: $(cat "$T/out")"
done
for ref in "$oci" "${oci:0:15}" "oci:$FIXTURES/oci:v1" "oci:$abs/:v1"; do
  expect_status 0 F image cat-manifest "$ref"
  jq -e '.layers | length > 0' "$T/out" >/dev/null || fail "cat-manifest $ref: $(cat "$T/out")"
done
expect_status 0 F image extract "oci:$FIXTURES/oci:v1" "$T/extracted"
[ -f "$T/extracted/rootfs/bin/busybox" ] || fail "image extract by oci: name"
expect_status 0 F image render example.com/busybox:1.36 "$T/rendered"
[ -f "$T/rendered/rootfs/bin/busybox" ] || fail "image render by appc name"
expect_status 0 F image export example.com/busybox:1.36 "$T/copy.aci"
cmp -s "$T/copy.aci" "$FIXTURES/bb.aci" || fail "image export by name: not the fetched ACI"
expect_status 254 F image cat-manifest example.com/nothing:1
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'no image "example.com/nothing:1" in the store' "$T/err" ||
  fail "an unknown name: $(cat "$T/err")"
expect_status 254 F image rm "oci:$FIXTURES/oci:v2"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "rm of an unknown name: $(cat "$T/err")"
expect_status 0 F image rm "oci:$FIXTURES/oci:v1" example.com/busybox:1.36
grep -qx "removed $oci" "$T/out" && grep -qx "removed $aci" "$T/out" || fail "image rm by names: $(cat "$T/out")"
ok "image cat-manifest/extract/render/export/rm take an ID, an ID prefix or a name"

# --- names that cannot be images: one line saying what would be, nothing fetched.
expect_status 254 F fetch sha512-0000
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'not an image ID' "$T/err" || fail "short ID: $(cat "$T/err")"
! grep -qi 'resolve' "$T/err" || fail "a short ID went to discovery: $(cat "$T/err")"
expect_status 254 F fetch "$FIXTURES/oci"
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "oci:$FIXTURES/oci" "$T/err" || fail "layout without oci:: $(cat "$T/err")"
expect_status 254 F fetch 127.0.0.1:5077/ux/small:1.0
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'docker://127.0.0.1:5077/ux/small:1.0' "$T/err" ||
  fail "registry name without docker://: $(cat "$T/err")"
expect_status 2 F --dir '' image list
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- '--dir' "$T/err" || fail "--dir '': $(cat "$T/err")"
expect_status 2 F run --pod-manifest=/nonexistent "$FIXTURES/bb.aci" --memory 64X
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- '--memory: not a quantity: "64X"' "$T/err" ||
  fail "--memory 64X: $(cat "$T/err")"
expect_status 2 F run "$FIXTURES/bb.aci" echo hi
[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q 'IMAGE -- echo' "$T/err" || fail "run IMG echo: $(cat "$T/err")"
# --- --format=json is honoured or refused, never ignored.
expect_status 0 F --format=json fetch "$FIXTURES/bb.aci"
jq -e --arg id "$aci" '.[0].id == $id' "$T/out" >/dev/null || fail "fetch --format=json: $(cat "$T/out")"
expect_status 0 F --format=json image verify
jq -e '.clean == true' "$T/out" >/dev/null || fail "image verify --format=json: $(cat "$T/out")"
expect_status 0 F --format=json image gc
jq -e '.blobsRemoved >= 0 and .tempsRemoved >= 0' "$T/out" >/dev/null || fail "image gc --format=json: $(cat "$T/out")"
expect_status 0 F --format=json gc
jq -e '.marked == [] and .removed == []' "$T/out" >/dev/null || fail "gc --format=json: $(cat "$T/out")"
expect_status 2 F --format=json logs 0123abcd
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "logs --format=json: $(cat "$T/err")"
ok "--format=json: fetch, image verify, image gc and gc write JSON; logs refuses it"

ok "a short ID, a layout without oci:, a registry name without docker://, --dir '', --memory 64X, run IMG CMD: one line each"
echo "$checks passed, 0 failed"
