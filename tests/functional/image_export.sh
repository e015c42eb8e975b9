#!/usr/bin/env bash
# `ferry image export | extract | render`: an ACI exports byte for byte as it was fetched (cmp
# with the source file, every compression); OCI layouts written by export are judged by
# oci-image-tool, skopeo and umoci; extract and render are compared with what GNU tar and umoci
# make of the same image; a non-empty destination is refused and left alone.
source "$(dirname "$0")/lib.sh"
command -v umoci >/dev/null || skip "umoci is not installed"
command -v actool >/dev/null || skip "actool is not installed"
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }

# --- ACIs: exported exactly as fetched ------------------------------------------------------
for f in bb rich rich-xz rich-bz2 rich-zst rich-plain; do
  expect_status 0 F fetch "$FIXTURES/$f.aci"
  id=$(cat "$T/out")
  expect_status 0 F image export "$id" "$T/$f.aci"
  cmp "$FIXTURES/$f.aci" "$T/$f.aci" || fail "export of $f.aci differs from the fetched file"
  ok "$f.aci exported byte for byte ($(stat -c %s "$T/$f.aci") bytes)"
done
actool validate "$T/rich.aci" >/dev/null 2>"$T/actool.err" || { cat "$T/actool.err" >&2; fail "actool rejects the export"; }
ok "actool validates the exported ACI"
# The gzip one was stored as its tar plus the original file: both in the store, verified.
expect_status 0 F image verify
ok "store verifies clean with the original files kept"

# An existing file is not replaced without --overwrite.
expect_status 0 F fetch "$FIXTURES/rich.aci"
rich=$(cat "$T/out")
expect_status 254 F image export "$rich" "$T/bb.aci"
grep -q 'exists' "$T/err" || fail "export over a file: $(cat "$T/err")"
cmp "$FIXTURES/bb.aci" "$T/bb.aci" || fail "a refused export changed the file"
expect_status 0 F image export --overwrite "$rich" "$T/bb.aci"
cmp "$FIXTURES/rich.aci" "$T/bb.aci" || fail "--overwrite did not write the image"
ok "export refuses an existing file unless --overwrite"

# --- extract and render of an ACI, against GNU tar -----------------------------------------
extract_aci_rootfs "$FIXTURES/rich.aci" "$T/tar-rich"
tar -C "$T/tar-rich" -xzf "$FIXTURES/rich.aci" manifest
expect_status 0 F image extract "$rich" "$T/x-rich"
same_tree "$T/tar-rich/rootfs" "$T/x-rich/rootfs" "image extract of rich.aci vs GNU tar"
cmp "$T/tar-rich/manifest" "$T/x-rich/manifest" || fail "extracted manifest differs"
ok "image extract writes the manifest as in the ACI"
mkdir "$T/x-only"
expect_status 0 F image extract --rootfs-only "$rich" "$T/x-only"
same_tree "$T/tar-rich/rootfs" "$T/x-only" "image extract --rootfs-only into an empty directory"
# A directory that is not empty: refused, or replaced with --overwrite (nothing of it left).
expect_status 254 F image extract "$rich" "$T/x-rich"
grep -q -- '--overwrite' "$T/err" || fail "extract into a full directory: $(cat "$T/err")"
echo stale >"$T/x-rich/stale" && echo stale >"$T/x-only/stale"
expect_status 0 F image extract --overwrite "$rich" "$T/x-rich"
same_tree "$T/tar-rich/rootfs" "$T/x-rich/rootfs" "image extract --overwrite"
[ ! -e "$T/x-rich/stale" ] || fail "extract --overwrite kept a stale file"
expect_status 0 F image render --overwrite --rootfs-only "$rich" "$T/x-only"
same_tree "$T/tar-rich/rootfs" "$T/x-only" "image render --overwrite --rootfs-only"
[ -z "$(ls -a "$T" | grep '\.tmp-')" ] || fail "--overwrite left a temporary directory: $(ls -a "$T")"
ok "image extract/render --overwrite replace a directory's content; without it, refused"
# With no tree in the store, render writes the rootfs straight into DIR and makes none (a tree
# there serves pods); with one (a prepared pod's), it copies that tree. Both as GNU tar has it.
trees() { find "$D/cas/trees" -mindepth 2 -maxdepth 2 -name rootfs 2>/dev/null | sort; }
expect_status 0 F image render --rootfs-only "$rich" "$T/r-rich"
same_tree "$T/tar-rich/rootfs" "$T/r-rich" "image render of rich.aci (straight into DIR) vs GNU tar"
[ -z "$(trees)" ] || fail "render with no tree in the store made one: $(trees)"
expect_status 0 F prepare "$rich"
prepared=$(tail -1 "$T/out")
[ -n "$(trees)" ] || fail "prepare left no tree in the tree store"
trees >"$T/trees.before"
expect_status 0 F image render --rootfs-only "$rich" "$T/r-rich-copy"
same_tree "$T/tar-rich/rootfs" "$T/r-rich-copy" "image render of rich.aci (copied from the tree store) vs GNU tar"
trees | diff "$T/trees.before" - >&2 || fail "render from the tree store changed its trees"
expect_status 0 F rm "$prepared"
ok "image render: straight into DIR without a tree in the store, copied from the store's tree with one"

# A non-empty destination is refused and left as it was; so is a file.
mkdir -p "$T/busy" && echo keep >"$T/busy/file"
expect_status 254 F image extract "$rich" "$T/busy"
grep -q 'not empty' "$T/err" || fail "extract into a non-empty dir: $(cat "$T/err")"
[ "$(ls -A "$T/busy")" = file ] && [ "$(cat "$T/busy/file")" = keep ] || fail "refused extract touched the directory"
expect_status 254 F image render "$rich" "$T/busy"
grep -q 'not empty' "$T/err" || fail "render into a non-empty dir: $(cat "$T/err")"
expect_status 254 F image render "$rich" "$T/busy/file"
grep -q 'not a directory' "$T/err" || fail "render onto a file: $(cat "$T/err")"
[ -z "$(ls -A "$T" | grep '\.tmp-')" ] || fail "a refused render left a temporary directory"
ok "non-empty or non-directory destinations refused: $(cat "$T/err")"

# --- render with appc dependencies: the store resolves them --------------------------------
mkaci() { # NAME MANIFEST FILES... (path=content under rootfs)
  local name=$1 manifest=$2 d=$T/src/$1
  shift 2
  mkdir -p "$d/rootfs"
  printf '%s' "$manifest" >"$d/manifest"
  for spec in "$@"; do
    mkdir -p "$(dirname "$d/rootfs/${spec%%=*}")"
    printf '%s' "${spec#*=}" >"$d/rootfs/${spec%%=*}"
  done
  tar -C "$d" -czf "$T/$name.aci" manifest rootfs
}
man() { # NAME [DEPS-JSON]
  printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/%s","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]%s}' \
    "$1" "${2:+,\"dependencies\":$2}"
}
dep() { printf '{"imageName":"example.com/%s","labels":[{"name":"version","value":"1"}]}' "$1"; }
mkaci base "$(man base)" etc/os-release=base only-base=base
mkaci app "$(man app "[$(dep base)]")" etc/os-release=app app/bin=app
expect_status 0 F fetch "$T/base.aci"
expect_status 0 F fetch "$T/app.aci"
app=$(cat "$T/out")
expect_status 0 F image render "$app" "$T/r-app"
[ "$(cat "$T/r-app/rootfs/etc/os-release")" = app ] && [ "$(cat "$T/r-app/rootfs/only-base")" = base ] ||
  fail "render did not apply the dependency: $(ls -R "$T/r-app")"
[ -f "$T/r-app/manifest" ] || fail "render wrote no manifest"
expect_status 0 F image extract --rootfs-only "$app" "$T/x-app"
[ ! -e "$T/x-app/only-base" ] && [ "$(cat "$T/x-app/app/bin")" = app ] || fail "extract applied dependencies"
ok "render applies appc dependencies from the store; extract does not"

# ACI → OCI export (the translation, dependencies from the store), judged by the peers.
expect_status 0 F image export "$app" "oci:$T/app-layout:v1"
check_oci_layout "$T/app-layout" v1
umoci unpack --image "$T/app-layout:v1" "$T/app-bundle" >/dev/null
same_tree "$T/r-app/rootfs" "$T/app-bundle/rootfs" "umoci unpack of the exported app vs image render"

# --- OCI images --------------------------------------------------------------------------
expect_status 0 F fetch "oci:$FIXTURES/oci:v2"
oci=$(cat "$T/out")
expect_status 0 F image export "$oci" "oci:$T/layout"
grep -q "^oci:$T/layout:v2 $oci\$" "$T/out" || fail "export to a layout: $(cat "$T/out")"
check_oci_layout "$T/layout" v2
# The same blobs as the source layout, byte for byte.
for b in "$T"/layout/blobs/sha256/*; do
  cmp "$b" "$FIXTURES/oci/blobs/sha256/$(basename "$b")" || fail "blob $(basename "$b") differs"
done
skopeo inspect --raw "oci:$T/layout:v2" | sha256sum | grep -q "${oci#sha256:}" || fail "skopeo sees another manifest"
ok "OCI export: the source's manifest and blobs"
umoci unpack --image "$FIXTURES/oci:v2" "$T/umoci-v2" >/dev/null
expect_status 0 F image render --rootfs-only "$oci" "$T/r-v2"
same_tree "$T/umoci-v2/rootfs" "$T/r-v2" "image render of the OCI image vs umoci unpack"
expect_status 0 F image extract "$oci" "$T/x-v2"
same_tree "$T/umoci-v2/rootfs" "$T/x-v2/rootfs" "image extract of the OCI image vs umoci unpack"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert len(m["layers"])==2, m' "$T/x-v2/manifest.json"
ok "image extract writes the OCI manifest and config"
# --to=oci takes a bare DIR[:REF]; --to=aci refuses a layout.
expect_status 0 F image export --to=oci "$oci" "$T/layout2:mine"
check_oci_layout "$T/layout2" mine
expect_status 2 F image export --to=aci "$oci" "oci:$T/layout3"
[ ! -e "$T/layout3" ] || fail "a refused export created the layout"
# A second image into the same layout, under another ref.
expect_status 0 F fetch "oci:$FIXTURES/oci:v1"
expect_status 0 F image export "$(cat "$T/out")" "oci:$T/layout:other"
check_oci_layout "$T/layout" other
check_oci_layout "$T/layout" v2

# OCI → ACI export (the translation), judged by actool and GNU tar.
expect_status 0 F image export "$oci" "$T/v2.aci"
actool validate "$T/v2.aci" >/dev/null 2>"$T/actool.err" || { cat "$T/actool.err" >&2; fail "actool rejects the OCI export"; }
extract_aci_rootfs "$T/v2.aci" "$T/tar-v2"
same_tree "$T/umoci-v2/rootfs" "$T/tar-v2/rootfs" "the OCI image exported as ACI vs umoci unpack"
expect_status 0 F image verify
echo "$checks passed, 0 failed"
