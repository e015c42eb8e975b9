#!/usr/bin/env bash
# `ferry fetch oci:FILE.tar[:REF]`: oci-layout tar archives as skopeo writes them
# (oci-archive:), plain or compressed, every blob verified; hostile or corrupt archives are
# refused with the entry named and the store exactly as before. An image fetched from the
# directory and from the archive is one image that keeps both names.
source "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null || skip "skopeo is not installed"
D=$T/data
F() { "$FERRY" --dir "$D" "$@"; }

skopeo copy -q "oci:$FIXTURES/oci:v2" "oci-archive:$T/v2.tar:v2" >/dev/null
digest=$(skopeo inspect --raw "oci-archive:$T/v2.tar:v2" | sha256sum | cut -d' ' -f1)
expect_status 0 F fetch "oci:$T/v2.tar:v2"
[ "$(cat "$T/out")" = "sha256:$digest" ] || fail "fetched $(cat "$T/out"), skopeo says sha256:$digest"
ok "oci-archive written by skopeo fetched as sha256:$digest"
# Without a ref (the archive's only image), and gzip-compressed.
expect_status 0 F fetch "oci:$T/v2.tar"
[ "$(cat "$T/out")" = "sha256:$digest" ] || fail "without a ref: $(cat "$T/out")"
mkdir "$T/unpacked" && tar -C "$T/unpacked" -xf "$T/v2.tar"
tar -C "$T/unpacked" -czf "$T/v2.tar.gz" .
expect_status 0 F fetch "oci:$T/v2.tar.gz:v2"
[ "$(cat "$T/out")" = "sha256:$digest" ] || fail "gzip archive: $(cat "$T/out")"
ok "archive without a ref, and a gzip-compressed archive (with ./ names)"
[ -z "$(ls -A "$D/cas/tmp")" ] || fail "the unpacked archive was left in cas/tmp: $(ls -A "$D/cas/tmp")"

# The same image from the layout directory: one image, both names kept.
expect_status 0 F fetch "oci:$FIXTURES/oci:v2"
[ "$(cat "$T/out")" = "sha256:$digest" ] || fail "directory: $(cat "$T/out")"
expect_status 0 F --format=json image list
python3 - "$T/out" "$T/v2.tar" "$FIXTURES/oci" <<'PY'
import json, os, sys
images = json.load(open(sys.argv[1]))
assert len(images) == 1, images
names = {(n["name"], n["tag"]) for n in images[0]["names"]}
for p in sys.argv[2:]:
    assert ("oci:" + os.path.realpath(p), "v2") in names, (p, names)
PY
ok "one image keeps the names of the archive and of the directory"
expect_status 0 F image verify

# Hostile and corrupt archives: refused, the store unchanged, nothing written outside.
store_snapshot "$D" >"$T/before"
python3 - "$T" "$T/unpacked" <<'PY'
import io, os, sys, tarfile
t, src = sys.argv[1], sys.argv[2]
def layout(tf, skip=()):
    for root, dirs, files in os.walk(src):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, src)
            if rel not in skip:
                tf.add(p, arcname=rel)
def mk(name, extra, skip=()):
    with tarfile.open(os.path.join(t, name + ".tar"), "w") as tf:
        layout(tf, skip)
        extra(tf)
def data(tf, name, content=b"x", **kw):
    ti = tarfile.TarInfo(name); ti.size = len(content)
    for k, v in kw.items(): setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(content))
def link(tf, name, target, kind):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target; tf.addfile(ti)
def node(tf, name, kind):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.devmajor = 1; ti.devminor = 3; tf.addfile(ti)
mk("escape", lambda tf: data(tf, "../escaped"))
mk("absolute", lambda tf: data(tf, "/tmp/ferry-absolute-" + os.path.basename(t)))
mk("stranger", lambda tf: data(tf, "blobs/sha256/../../evil.sh"))
mk("extra", lambda tf: data(tf, "run.sh", b"#!/bin/sh\n"))
mk("symlink", lambda tf: link(tf, "blobs/sha256/" + "0" * 64, "/etc/passwd", tarfile.SYMTYPE))
mk("hardlink", lambda tf: link(tf, "blobs/sha256/" + "1" * 64, "index.json", tarfile.LNKTYPE))
mk("device", lambda tf: node(tf, "blobs/sha256/" + "2" * 64, tarfile.CHRTYPE))
mk("dup", lambda tf: data(tf, "index.json", b'{"schemaVersion":2,"manifests":[]}'))
mk("blobdir", lambda tf: (lambda ti: (setattr(ti, "type", tarfile.DIRTYPE), tf.addfile(ti)))(tarfile.TarInfo("blobs/sha256/" + "3" * 64)))
# A layer whose bytes do not match its name.
def corrupt(tf):
    big = max((os.path.join(r, f) for r, _, fs in os.walk(os.path.join(src, "blobs")) for f in fs),
              key=os.path.getsize)
    b = bytearray(open(big, "rb").read()); b[100] ^= 0xff
    data(tf, os.path.relpath(big, src), bytes(b))
big = max((os.path.join(r, f) for r, _, fs in os.walk(os.path.join(src, "blobs")) for f in fs),
          key=os.path.getsize)
mk("corrupt", corrupt, skip=(os.path.relpath(big, src),))
# Truncated: the archive cut in the middle of a blob.
raw = open(os.path.join(t, "v2.tar"), "rb").read()
open(os.path.join(t, "truncated.tar"), "wb").write(raw[: len(raw) // 2])
PY
# An empty store first (image gc makes one; image list, a read-only command, makes nothing).
rm -rf "$D" && mkdir -p "$D" && expect_status 0 F image gc && store_snapshot "$D" >"$T/before"
for bad in escape absolute stranger extra symlink hardlink device dup blobdir corrupt truncated; do
  expect_status 254 F fetch "oci:$T/$bad.tar:v2"
  grep -q . "$T/err" || fail "$bad: no error message"
  case $bad in
    corrupt) grep -qiE 'digest' "$T/err" && grep -qF "$T/corrupt.tar:blobs/" "$T/err" || fail "$bad: $(cat "$T/err")" ;;
    truncated) grep -qiE 'truncat|unexpected end|short' "$T/err" || fail "$bad: $(cat "$T/err")" ;;
    *) grep -qiE 'not part of an OCI image layout|where the layout has|duplicate|escapes|absolute' "$T/err" || fail "$bad: $(cat "$T/err")" ;;
  esac
  store_snapshot "$D" >"$T/after"
  diff -u "$T/before" "$T/after" >&2 || fail "$bad: the refused fetch changed the store"
  [ -z "$(ls -A "$D/cas/tmp")" ] || fail "$bad: left $(ls -A "$D/cas/tmp") in cas/tmp"
  ok "$bad archive refused, store unchanged: $(head -c 200 "$T/err")"
done
[ ! -e "$T/escaped" ] && [ ! -e "/tmp/ferry-absolute-$(basename "$T")" ] || fail "a hostile entry was written outside"
echo "$checks passed, 0 failed"
