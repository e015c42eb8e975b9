#!/usr/bin/env bash
# Malformed manifests, wrong digests, truncated and missing blobs: a clear one-line error naming
# what failed, exit 254, and destinations exactly as they were.
source "$(dirname "$0")/lib.sh"

# refuse WHAT PATTERN CMD...: exit 254, one line, matching PATTERN.
refuse() {
  local what=$1 pattern=$2
  shift 2
  expect_status 254 "$@"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$what: error is not one line: $(cat "$T/err")"
  grep -qE "$pattern" "$T/err" || fail "$what: error '$(cat "$T/err")' does not match /$pattern/"
  ok "$what: $(cut -c1-160 "$T/err")"
}

# --- ACIs with bad manifests -----------------------------------------------------------------
mkaci() { # DIR MANIFEST-TEXT OUT
  mkdir -p "$1/rootfs/bin"
  printf '%s' "$2" >"$1/manifest"
  echo hi >"$1/rootfs/bin/hello"
  tar -C "$1" -czf "$3" manifest rootfs
}
mkaci "$T/m1" '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x","app":{"exec":["/bin/hello"],"user":"0","group":"0","bogus":1}}' "$T/unknown-field.aci"
refuse "unknown manifest field" 'unknown-field.aci.*app\.bogus: unknown field' \
  "$FERRY" image convert "$T/unknown-field.aci" "oci:$T/o1:x"
mkaci "$T/m2" '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Example.com/x"}' "$T/bad-name.aci"
refuse "invalid AC identifier" 'bad-name.aci.*name' "$FERRY" image convert "$T/bad-name.aci" "oci:$T/o2:x"
mkaci "$T/m3" '{"acKind":"ImageManifest",' "$T/bad-json.aci"
refuse "truncated JSON" 'bad-json.aci' "$FERRY" image convert "$T/bad-json.aci" "oci:$T/o3:x"
mkaci "$T/m4" '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x","app":{"exec":["/bin/hello"],"user":"0","group":"0","isolators":[{"name":"resource/memory","value":{"limit":"lots"}}]}}' "$T/bad-iso.aci"
refuse "bad isolator value" 'app\.isolators\[0\]\.value\.limit' "$FERRY" image convert "$T/bad-iso.aci" "oci:$T/o4:x"
for o in o1 o2 o3 o4; do [ ! -e "$T/$o" ] || fail "failed convert left $T/$o"; done

# --- OCI layouts with bad content ------------------------------------------------------------
fresh() { rm -rf "$T/l"; cp -a "$FIXTURES/oci" "$T/l"; }
layer_of() { # REF INDEX → path of that layer blob
  python3 - "$T/l" "$1" "$2" <<'PY'
import json, sys
root, ref, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = json.load(open(root + "/index.json"))
d = [m for m in idx["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == ref][0]
blob = lambda dg: root + "/blobs/" + dg.replace(":", "/")
man = json.load(open(blob(d["digest"])))
print(blob(man["layers"][i]["digest"]))
PY
}

fresh
echo "precious" >"$T/dest.aci"
f=$(layer_of v2 1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$f"
refuse "corrupted layer" 'layers\[1\]|digest|gzip|archive' "$FERRY" image convert "oci:$T/l:v2" "$T/dest.aci"
[ "$(cat "$T/dest.aci")" = precious ] || fail "a failed convert changed the destination"
ok "destination untouched after a failed convert"

fresh
f=$(layer_of v2 0)
truncate -s $(($(stat -c %s "$f") / 2)) "$f"
refuse "truncated layer" 'truncated|layers\[0\]|archive' "$FERRY" image convert "oci:$T/l:v2" "$T/t.aci"
[ ! -e "$T/t.aci" ] || fail "truncated layer left an ACI"

fresh
rm "$(layer_of v1 0)"
refuse "missing layer blob" 'sha256[:/][0-9a-f]{12}' "$FERRY" image convert "oci:$T/l:v1" "$T/t.aci"

fresh
refuse "unknown ref" 'nope.*(v1|v2)' "$FERRY" image convert "oci:$T/l:nope" "$T/t.aci"

fresh
echo '{"imageLayoutVersion":"9.9.9"}' >"$T/l/oci-layout"
refuse "layout version" '9\.9\.9' "$FERRY" image convert "oci:$T/l:v1" "$T/t.aci"

fresh
echo '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:zz","size":1}]}' >"$T/l/index.json"
refuse "malformed index.json" 'manifests\[0\]\.digest' "$FERRY" image convert "oci:$T/l" "$T/t.aci"

# A failed convert into an existing layout leaves its index alone.
fresh
cp "$T/l/index.json" "$T/index.before"
refuse "convert into a layout fails" 'unknown-field.aci' "$FERRY" image convert "$T/unknown-field.aci" "oci:$T/l:new"
cmp -s "$T/index.before" "$T/l/index.json" || fail "index.json changed after a failed convert"
ok "existing layout's index.json untouched"
# Layers that write through their own symlink, or that take a hostile name, are refused.
mkdir -p "$T/evil/x"
ln -s /tmp "$T/evil/x/link"
tar -C "$T/evil/x" -cf "$T/evil/layer.tar" link
python3 - "$T/evil/layer.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "a") as t:
    data = b"pwned"
    info = tarfile.TarInfo("link/ferry-layer-pwned")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
PY
python3 "$TOOLS/mklayout.py" "$T/evil/layout" x "$T/evil/layer.tar"
refuse "layer writing through its symlink" 'link/ferry-layer-pwned.*not a directory' \
  "$FERRY" image convert "oci:$T/evil/layout:x" "$T/evil.aci"
[ ! -e "$T/evil.aci" ] && [ ! -e /tmp/ferry-layer-pwned ] || fail "hostile layer left output"
tar -C "$T/evil/x" -cf "$T/evil/dotdot.tar" --transform 's|^|../|' link
python3 "$TOOLS/mklayout.py" "$T/evil/layout2" x "$T/evil/dotdot.tar"
refuse "layer with ../ names" 'escapes' "$FERRY" image convert "oci:$T/evil/layout2:x" "$T/evil.aci"
echo "$checks passed, 0 failed"
