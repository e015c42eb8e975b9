#!/usr/bin/env bash
# `ferry image rm` + `ferry image gc` never take a rendered tree from under a pod: a prepared
# pod still runs on it, an exited one keeps it until the pod is removed; then gc frees it.
# Uses the shell stage1 (tests/stage1-shell): it chroots each app into the tree runtime.json
# names, as the ns stage1 overlays it.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
S1=$(cd "$(dirname "$0")/../stage1-shell" && pwd)
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }
R=(--stage1-path="$S1" --net=host)

expect_status 0 F fetch "$FIXTURES/bb.aci"
id=$(tail -1 "$T/out")
expect_status 0 F prepare "${R[@]}" "$id" --exec /bin/sh -- -c 'echo still-here; exit 6'
up=$(cat "$T/out")
tree=$(jq -r '.apps[0].tree' "$D/pods/prepared/$up/runtime.json")
[ -d "$tree" ] && [ -x "$tree/bin/sh" ] || fail "prepared pod's tree $tree is not there"

expect_status 0 F image rm "$id"
expect_status 0 F image gc --grace-period=0s
grep -q ' 0 trees' "$T/out" || fail "gc removed a tree a prepared pod uses: $(cat "$T/out")"
[ -x "$tree/bin/sh" ] || fail "gc removed $tree under a prepared pod"
expect_status 0 F image verify
ok "image rm + image gc keep the tree of a prepared pod (and its index entry: verify is clean)"

expect_status 6 F run-prepared "$up"
grep -qx 'still-here' "$T/out" || fail "run-prepared output: $(cat "$T/out")"
ok "the prepared pod runs on its tree after its image was removed and gc ran"

expect_status 0 F image gc --grace-period=0s
[ -x "$tree/bin/sh" ] || fail "gc removed $tree under an exited pod"
ok "an exited pod keeps its tree until it is removed"

expect_status 0 F rm "$up"
expect_status 0 F image gc --grace-period=0s
grep -q ' 1 trees' "$T/out" || fail "gc after the pod is gone: $(cat "$T/out")"
[ ! -e "$tree" ] && [ ! -e "$(dirname "$tree")" ] || fail "gc left $tree after the pod was removed"
expect_status 0 F image verify
ok "once the pod is removed, gc frees the tree"

# rkt's age: image gc removes images unused (fetched or run, else imported) for longer than
# --grace-period, except those of pods; --blobs-only removes none.
expect_status 0 F fetch "$FIXTURES/bb.aci"
bb=$(tail -1 "$T/out")
expect_status 0 F fetch "oci:$FIXTURES/oci:v1"
oci=$(tail -1 "$T/out")
expect_status 0 F prepare "${R[@]}" "$oci" --exec /bin/sh -- -c true
python3 - "$D/cas/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE images SET imported_at = imported_at - 7200, last_used_at = MAX(last_used_at - 7200, 0)")
db.commit()
PY
expect_status 0 F image gc --grace-period=1h --blobs-only
expect_status 0 F image gc --grace-period=3h
[ "$(F image list -q | sort)" = "$(printf '%s\n' "$bb" "$oci" | sort)" ] || fail "gc removed a recent image: $(F image list)"
expect_status 0 F image gc --grace-period=1h
grep -qx "removed image $bb" "$T/out" || fail "image gc by age: $(cat "$T/out")"
[ "$(F image list -q)" = "$oci" ] || fail "after gc by age: $(F image list)"
expect_status 0 F image verify
ok "image gc --grace-period removes images unused for longer (not a pod's); --blobs-only none"
