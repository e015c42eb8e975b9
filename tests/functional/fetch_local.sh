#!/usr/bin/env bash
# `ferry fetch` of local images into the store: ACIs with signatures verified against ferry's
# own trust store (keys made by gpg, a peer), oci: layouts with every blob re-verified, and the
# store left exactly as it was when a fetch is refused.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require gpg
D=$T/data
F() { "$FERRY" --dir "$D" "$@"; }
snapshot() { # the index rows and the blob list
  { { find "$D/cas/blobs" -type f 2>/dev/null || true; } | sort
    python3 - "$D/cas/index.db" <<'PY'
import sqlite3, sys, os
if os.path.exists(sys.argv[1]):
    db = sqlite3.connect(sys.argv[1])
    for (t,) in db.execute("select name from sqlite_master where type='table' order by name"):
        for row in db.execute("select * from %s order by 1" % t):
            print(t, row)
PY
  } >"$1"
}

cp "$FIXTURES/bb.aci" "$T/bb.aci"
svc_gpg alice
"$here/services/gpg.sh" sign "$GPG_HOME" "$T/bb.aci" >/dev/null

# Unsigned or untrusted: refused, nothing stored.
mkdir -p "$D"
expect_status 254 F fetch "$FIXTURES/rich.aci"
grep -q 'no signature' "$T/err" || fail "unsigned: $(cat "$T/err")"
expect_status 254 F fetch "$T/bb.aci"
grep -q 'no trusted key' "$T/err" || fail "untrusted: $(cat "$T/err")"
[ -z "$(find "$D/cas/blobs" -type f 2>/dev/null)" ] || fail "a refused fetch left blobs"
ok "unsigned and untrusted ACIs refused, no blob stored"

# Trusted for another prefix: still refused.
expect_status 0 F trust --prefix=example.com/other --skip-fingerprint-review "$GPG_PUBKEY"
expect_status 254 F fetch "$T/bb.aci"
grep -q 'no trusted key' "$T/err" || fail "wrong prefix: $(cat "$T/err")"
ok "a key trusted for another prefix does not apply"

# Trusted: fetched; the ID is the sha512 of the uncompressed tar (system tools). The signature
# may come from elsewhere (--signature, rkt's): an unrelated one is refused, the right one taken.
expect_status 0 F trust --prefix=example.com/busybox --skip-fingerprint-review "$GPG_PUBKEY"
grep -q "$GPG_FPR" "$T/out" || fail "trust does not print the fingerprint"
mv "$T/bb.aci.asc" "$T/bb.sig"
expect_status 254 F fetch "$T/bb.aci"
grep -q 'no signature' "$T/err" || fail "no .asc: $(cat "$T/err")"
cp "$FIXTURES/rich.aci" "$T/rich.aci"
"$here/services/gpg.sh" sign "$GPG_HOME" "$T/rich.aci" >/dev/null
expect_status 254 F fetch --signature "$T/rich.aci.asc" "$T/bb.aci"
grep -qi 'bad signature' "$T/err" || fail "--signature of another file: $(cat "$T/err")"
expect_status 254 F run --signature "$T/rich.aci.asc" "$T/bb.aci"
grep -qi 'bad signature' "$T/err" || fail "run --signature of another file: $(cat "$T/err")"
expect_status 2 F fetch --signature "$T/bb.sig" "$T/bb.aci" "$T/rich.aci"
expect_status 254 F fetch --signature "$T/bb.sig" "oci:$FIXTURES/oci:v2"
grep -q 'only an ACI (a file, a URL or an appc name) has one' "$T/err" || fail "--signature with an OCI layout: $(cat "$T/err")"
[ -z "$(find "$D/cas/blobs" -type f 2>/dev/null)" ] || fail "a refused fetch left blobs"
expect_status 0 F fetch --signature "$T/bb.sig" "$T/bb.aci"
ok "--signature FILE: the image's signature from FILE (fetch and run); a wrong one refused"
mv "$T/bb.sig" "$T/bb.aci.asc"
expect_status 0 F fetch "$T/bb.aci"
id=$(cat "$T/out")
[ "$id" = "$(aci_id "$T/bb.aci")" ] || fail "ID $id is not the sha512 of the tar"
ok "signed ACI fetched as $id"

# A tampered ACI (still a valid archive) fails the signature; the store is unchanged.
snapshot "$T/before"
mkdir -p "$T/t" && tar -C "$T/t" -xzf "$T/bb.aci" && echo extra >"$T/t/rootfs/extra"
tar -C "$T/t" -czf "$T/bb.aci" manifest rootfs
expect_status 254 F fetch "$T/bb.aci"
grep -qi 'bad signature' "$T/err" || fail "tampered: $(cat "$T/err")"
snapshot "$T/after"
diff -u "$T/before" "$T/after" || fail "a refused fetch changed the store"
ok "tampered ACI refused, store unchanged"

# An OCI layout and an unsigned ACI with --insecure-options=image.
expect_status 0 F fetch "oci:$FIXTURES/oci:v2"
oci_id=$(cat "$T/out")
[[ "$oci_id" == sha256:* ]] || fail "OCI ID $oci_id"
# The fetch rendered the image's tree from the copied layers (each inflated once), and
# --no-render, into another store, leaves none.
[ "$(ls "$D/cas/trees" | wc -l)" = 1 ] || fail "fetch of an OCI layout rendered no tree: $(ls -A "$D/cas")"
[ -z "$(ls -A "$D/cas/tmp")" ] || fail "fetch left $(ls -A "$D/cas/tmp") in cas/tmp"
expect_status 0 "$FERRY" --dir "$T/norender" fetch --no-render "oci:$FIXTURES/oci:v2"
[ -z "$(ls -A "$T/norender/cas/trees" 2>/dev/null)" ] || fail "fetch --no-render of a layout left a tree"
ok "fetch of an OCI layout renders its tree; --no-render does not"
expect_status 0 F --insecure-options=image fetch "$FIXTURES/rich.aci"
rich_id=$(cat "$T/out")
expect_status 0 F --format=json image list
python3 - "$T/out" "$id" "$oci_id" <<'PY'
import json, sys
images = {i["id"]: i for i in json.load(open(sys.argv[1]))}
assert sys.argv[2] in images and sys.argv[3] in images, images.keys()
assert images[sys.argv[2]]["name"] == "example.com/busybox"
assert images[sys.argv[3]]["tags"] == ["v2"]
assert len(images) == 3
PY
ok "image list shows the three images"
# rkt's --fields, --sort, --order, --full.
expect_status 0 F image list --fields=name,id --sort=name --order=desc --full --no-legend
awk '{print $1}' "$T/out" >"$T/names"
sort -r "$T/names" | diff - "$T/names" >/dev/null || fail "--sort=name --order=desc: $(cat "$T/out")"
grep -q " $id\$" "$T/out" || fail "--full --fields=name,id: $(cat "$T/out")"
expect_status 0 F image list --fields=size --full --sort=size
head -1 "$T/out" | grep -qx 'SIZE' && tail -n +2 "$T/out" | sort -n -c || fail "--sort=size: $(cat "$T/out")"
expect_status 2 F image list --fields=bogus
grep -q 'unknown field "bogus"' "$T/err" || fail "--fields=bogus: $(cat "$T/err")"
expect_status 2 F image list --order=up
ok "image list --fields, --sort, --order, --full"
# image inspect: what the image runs with, from the ACI's app section or the OCI config.
expect_status 0 F --format=json image inspect "${rich_id:0:20}"
jq -e '.exec == ["/bin/sh", "-c", "echo hello; id"] and .user == "app" and .group == "staff" and
  .workingDirectory == "/opt/work" and (.env | index("GREETING=hello world")) != null and
  (.ports | map(.name) == ["http", "range"]) and .annotations["com.example.team"] == "runtime"' \
  "$T/out" >/dev/null || fail "image inspect --format=json of an ACI: $(cat "$T/out")"
expect_status 0 F --format=json image inspect "oci:$FIXTURES/oci:v2"
jq -e '.exec == ["/bin/sh", "-c", "echo hi; id"] and .user == "app" and .stopSignal == "SIGINT" and
  (.ports | map(.port) | sort == ["53", "8080"]) and .annotations.Maintainer == "someone"' \
  "$T/out" >/dev/null || fail "image inspect --format=json of an OCI image: $(cat "$T/out")"
expect_status 0 F image inspect "${rich_id:0:20}"
grep -qx 'EXEC  */bin/sh -c "echo hello; id"' "$T/out" &&
  grep -qx 'PORTS  *http 8080/tcp, range 9000/udp' "$T/out" || fail "image inspect (table): $(cat "$T/out")"
expect_status 254 F image inspect sha512-00000000
ok "image inspect: exec, env, user, ports, annotations of an ACI and an OCI image (table, JSON)"
expect_status 0 F image cat-manifest "${id:0:20}"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["name"]=="example.com/busybox", m' "$T/out"
expect_status 0 F image cat-manifest "$oci_id"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["schemaVersion"]==2 and len(m["layers"])==2, m' "$T/out"
ok "image cat-manifest prints the appc and the OCI manifest"
expect_status 254 F image cat-manifest sha512-0000000000000000
grep -q 'no image' "$T/err" || fail "cat-manifest of a missing image: $(cat "$T/err")"
# rm + gc: the blobs of a removed image go, the others stay, and the store verifies clean.
expect_status 0 F image rm "$oci_id"
expect_status 0 F image gc --grace-period=0s --blobs-only
grep -q '^removed [1-9]' "$T/out" || fail "gc removed nothing: $(cat "$T/out")"
expect_status 0 F image verify
expect_status 0 F --format=json image list
python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1])))==2' "$T/out"
ok "image rm, gc, verify"
expect_status 0 F fetch "${id:0:20}"
[ "$(cat "$T/out")" = "$id" ] || fail "fetch by ID prefix"
ok "fetch by ID prefix answers from the store"

# A corrupted blob in a layout is refused and not stored.
rm -rf "$T/l" && cp -a "$FIXTURES/oci" "$T/l"
blob=$(ls -S "$T/l/blobs/sha256" | head -1)
printf 'X' | dd of="$T/l/blobs/sha256/$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -rf "$D" && mkdir -p "$D"
snapshot "$T/before"
expect_status 254 F fetch "oci:$T/l:v1"
grep -qiE 'digest|match' "$T/err" || fail "corrupt blob: $(cat "$T/err")"
[ -z "$(find "$D/cas/blobs" -type f -name "$blob" 2>/dev/null)" ] || fail "corrupt blob stored"
[ -z "$(ls -A "$D/cas/trees" "$D/cas/tmp" 2>/dev/null | grep -v ':$' | grep .)" ] ||
  fail "a refused layout left a tree or a temp file: $(ls -A "$D/cas/trees" "$D/cas/tmp")"
ok "corrupted layout blob refused: $(cat "$T/err")"
echo "$checks passed, 0 failed"
