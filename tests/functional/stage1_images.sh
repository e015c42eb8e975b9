#!/usr/bin/env bash
# Stage1 images (rkt's --stage1-* flags and stage1.d): the ns stage1 the build packs as an ACI
# (actool judges it); a third party's stage1, built here from the ns tree under another name and
# signed with a gpg key, run by path, file:// and https:// URL, name, hash and from
# configuration; gc, stop and run-prepared through the recorded tree, which image gc keeps; and
# bad stage1 images (no descriptor, a bad signature, no key, a wrong hash) refused in one line
# with no pod and no image left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require gpg
command -v actool >/dev/null || skip "actool is not installed (dist/setup)"
IMAGES=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1-images
[ -f "$IMAGES/stage1-ns.aci" ] || skip "the ns stage1 image is not built ($IMAGES)"
G() { "$FERRY" --dir "$D" "$@"; }  # signatures checked
mkdir -p "$D"
pod_dirs() { find "$D/pods" -mindepth 2 -maxdepth 2 2>/dev/null | sort; }
no_pods() { # WHAT: no pod beyond those of the last `pods_before`
  pod_dirs >"$T/pods.after"
  diff "$T/pods.before" "$T/pods.after" >/dev/null ||
    fail "$1: a pod was left: $(diff "$T/pods.before" "$T/pods.after")"
}
pods_before() { pod_dirs >"$T/pods.before"; }
no_image() { # NAME WHAT
  G image list >"$T/list"
  ! grep -q "$1" "$T/list" || fail "$2: image $1 left in the store"
}
ref_of() { cat "$D"/pods/*/"$1"/stage1-ref; }

# --- The build's stage1 image: a valid ACI, as trusted as ferry (no signature needed).
actool validate "$IMAGES/stage1-ns.aci" >"$T/actool.log" 2>&1 ||
  { cat "$T/actool.log" >&2; fail "actool rejects stage1-ns.aci"; }
tar -xzOf "$IMAGES/stage1-ns.aci" manifest | jq -e '.name == "ferry.dev/stage1-ns"' >/dev/null ||
  fail "stage1-ns.aci is not named ferry.dev/stage1-ns"
ok "the build's stage1-ns.aci passes actool validate"
# fly runs the init's loop in its run entrypoint's child: it ships no ferry-init, in its
# directory or its image (ferry-stage2 it executes for the app).
FLY=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/fly
if [ -f "$IMAGES/stage1-fly.aci" ]; then
  tar -tzf "$IMAGES/stage1-fly.aci" >"$T/fly.list"
  grep -qx 'rootfs/bin/ferry-stage2' "$T/fly.list" || fail "stage1-fly.aci has no ferry-stage2"
  ! grep -q 'ferry-init' "$T/fly.list" || fail "stage1-fly.aci ships a ferry-init it never runs"
  [ -x "$FLY/bin/ferry-stage2" ] && [ ! -e "$FLY/bin/ferry-init" ] ||
    fail "the fly stage1 directory: $(ls "$FLY/bin" | tr '\n' ' ')"
  ok "the fly stage1 (directory and image) ships ferry-stage2 and no ferry-init"
fi
expect_status 0 F fetch "$BB"
BBID=$(cat "$T/out")
expect_status 0 G run --uuid-file-save="$T/u0" --stage1-from-dir=stage1-ns.aci "$BBID" \
  --exec /bin/sh -- -c 'echo from-dir'
grep -qx from-dir "$T/out" || fail "--stage1-from-dir: $(cat "$T/out" "$T/err")"
ref_of "$(cat "$T/u0")" | jq -e '.image | startswith("sha512-")' >/dev/null ||
  fail "--stage1-from-dir: stage1-ref $(ref_of "$(cat "$T/u0")")"
ok "--stage1-from-dir=stage1-ns.aci runs a pod, unsigned (the build's own), recorded by image"

# --- A third party's stage1: the ns tree under another name, packed by GNU tar, signed.
mkdir -p "$T/third/rootfs"
cp -a "$NS/." "$T/third/rootfs/"
find "$T/third/rootfs" -type f -perm -u+x -exec strip --strip-debug {} +
jq '.name = "third"' "$NS/stage1.json" >"$T/third/rootfs/stage1.json"
printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/stage1-third","labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}' \
  >"$T/third/manifest"
tar -C "$T/third" -cf - manifest rootfs | gzip -1 >"$T/third.aci"
actool validate "$T/third.aci" >"$T/actool.log" 2>&1 ||
  { cat "$T/actool.log" >&2; fail "actool rejects the third-party stage1"; }
svc_gpg alice
"$here/services/gpg.sh" sign "$GPG_HOME" "$T/third.aci" >/dev/null
THIRD_ID=$(aci_id "$T/third.aci")

# Not trusted yet: refused in one line, nothing left.
pods_before
expect_status 254 G run --stage1-path="$T/third.aci" "$BBID"
one_line "untrusted stage1"
grep -q 'no trusted key' "$T/err" || fail "untrusted stage1: $(cat "$T/err")"
no_pods "untrusted stage1"
no_image stage1-third "untrusted stage1"
ok "an untrusted stage1 image is refused in one line; no pod, no image"

expect_status 0 G trust --prefix=example.com/stage1-third --skip-fingerprint-review "$GPG_PUBKEY"
expect_status 0 G run --uuid-file-save="$T/u1" --stage1-path="$T/third.aci" "$BBID" \
  --exec /bin/sh -- -c 'echo third-party'
grep -qx third-party "$T/out" || fail "third-party stage1: $(cat "$T/out" "$T/err")"
u1=$(cat "$T/u1")
ref_of "$u1" | jq -e --arg id "$THIRD_ID" '.image == $id' >/dev/null ||
  fail "stage1-ref of a --stage1-path image: $(ref_of "$u1")"
tree=$(ref_of "$u1" | jq -r .path)
jq -e '.name == "third"' "$tree/stage1.json" >/dev/null || fail "the recorded tree is not the third stage1"
case "$tree" in "$D/cas/trees/"*) ;; *) fail "the stage1 tree $tree is not in the store" ;; esac
ok "a signed third-party stage1 (--stage1-path FILE.aci) runs a pod without rebuilding ferry"

# The pod cannot reach its stage1's tree; the tree stays as the store rendered it.
expect_status 0 G run --stage1-hash="$THIRD_ID" "$BBID" --exec /bin/sh -- -c \
  "ls $tree 2>/dev/null && echo reached; ls /proc/1/root/ 2>/dev/null | grep -q cas && echo reached; echo checked"
grep -qx checked "$T/out" || fail "probe did not run: $(cat "$T/out" "$T/err")"
! grep -q reached "$T/out" || fail "a pod reached its stage1's tree"
expect_status 0 G image verify
ok "--stage1-hash=ID runs a pod; the pod sees no stage1 tree; image verify is clean"

expect_status 0 G run --stage1-name=example.com/stage1-third:1.0 "$BBID" --exec /bin/sh -- -c true
expect_status 0 G run --stage1-url="file://$T/third.aci" "$BBID" --exec /bin/sh -- -c true
ok "--stage1-name=NAME:VERSION (from the store) and --stage1-url=file:// run pods"

svc_nginx "$T/nginx"
cp "$T/third.aci" "$T/third.aci.asc" "$NGINX_WWW/"
expect_status 0 env SSL_CERT_FILE="$NGINX_CA" "$FERRY" --dir "$D" run \
  --stage1-url="$NGINX_HTTPS_URL/third.aci" "$BBID" --exec /bin/sh -- -c true
ok "--stage1-url=https:// fetches the stage1 image with its signature"

# gc and stop use the recorded tree; image rm + image gc keep it while a pod records it.
expect_status 0 G prepare --stage1-hash="$THIRD_ID" "$BBID" --exec /bin/sh -- -c 'echo prepared'
up=$(tail -1 "$T/out")
expect_status 0 G image rm "$THIRD_ID"
expect_status 0 G image gc --grace-period=0s --blobs-only
[ -f "$tree/stage1.json" ] || fail "image gc removed the tree of a prepared pod's stage1"
expect_status 0 G run-prepared "$up"
grep -qx prepared "$T/out" || fail "run-prepared on a stage1 image: $(cat "$T/out" "$T/err")"
expect_status 0 G gc --grace-period=0s
[ -z "$(pod_dirs)" ] || fail "gc of stage1-image pods left $(pod_dirs)"
no_mounts_under "$D" "gc of stage1-image pods"
ok "image gc keeps a recorded stage1 tree; run-prepared and gc run through it"

# --- Configuration: stage1.d of the local configuration directory chooses the default stage1.
# (--local-config, as rkt's; the system and user directories are set empty: none.)
C=$T/etc-ferry
mkdir -p "$C/stage1.d"
GC() { G --system-config= --user-config= --local-config="$C" "$@"; }
printf '{"ferryKind":"stage1","ferryVersion":"v1","location":"%s"}' "$T/third.aci" >"$C/stage1.d/third.json"
expect_status 0 GC run --uuid-file-save="$T/u2" "$BBID" --exec /bin/sh -- -c true
ref_of "$(cat "$T/u2")" | jq -e --arg id "$THIRD_ID" '.image == $id' >/dev/null ||
  fail "configured location: stage1-ref $(ref_of "$(cat "$T/u2")")"
printf '{"ferryKind":"stage1","ferryVersion":"v1","name":"example.com/stage1-third","version":"1.0"}' >"$C/stage1.d/third.json"
expect_status 0 GC run --uuid-file-save="$T/u3" "$BBID" --exec /bin/sh -- -c true
ref_of "$(cat "$T/u3")" | jq -e --arg id "$THIRD_ID" '.image == $id' >/dev/null ||
  fail "configured name: stage1-ref $(ref_of "$(cat "$T/u3")")"
expect_status 0 GC run --uuid-file-save="$T/u4" --stage1-name=ns "$BBID" --exec /bin/sh -- -c true
[ "$(ref_of "$(cat "$T/u4")")" = '{"name":"ns"}' ] || fail "a flag over the configuration: $(ref_of "$(cat "$T/u4")")"
chmod 0666 "$C/stage1.d/third.json"
expect_status 254 GC run "$BBID" --exec /bin/sh -- -c true
one_line "a world-writable configuration"
grep -q 'writable by others' "$T/err" || fail "world-writable configuration: $(cat "$T/err")"
printf '{"ferryKind":"stage1","ferryVersion":"v1","name":"x","naem":"y"}' >"$C/stage1.d/third.json"
chmod 0644 "$C/stage1.d/third.json"
expect_status 254 GC run "$BBID" --exec /bin/sh -- -c true
one_line "an invalid configuration"
grep -q 'naem: unknown field' "$T/err" || fail "invalid configuration: $(cat "$T/err")"
rm -r "$C/stage1.d"
ok "stage1.d: a location or a name:version chooses the default; a flag wins; unsafe or invalid files refused"

# --- Bad stage1 images: one line, no pod, no image left.
pods_before
mkdir -p "$T/nodesc/rootfs/bin"
cp "$NS/bin/run" "$T/nodesc/rootfs/bin/"
printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/stage1-third/nodesc","labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}' \
  >"$T/nodesc/manifest"
tar -C "$T/nodesc" -cf "$T/nodesc.aci" manifest rootfs
"$here/services/gpg.sh" sign "$GPG_HOME" "$T/nodesc.aci" >/dev/null
expect_status 254 G run --stage1-path="$T/nodesc.aci" "$BBID"
one_line "a stage1 image without stage1.json"
grep -q 'is not a stage1: its rootfs has no stage1.json' "$T/err" || fail "no descriptor: $(cat "$T/err")"
no_pods "no descriptor"
no_image stage1-third/nodesc "no descriptor"
ok "a stage1 image without a descriptor: one line, no pod, no image"

cp "$T/third.aci" "$T/bad.aci"
cp "$T/nodesc.aci.asc" "$T/bad.aci.asc"
expect_status 254 G run --stage1-path="$T/bad.aci" "$BBID"
one_line "a bad signature"
grep -qi 'bad signature' "$T/err" || fail "bad signature: $(cat "$T/err")"
no_pods "bad signature"
ok "a stage1 image with a bad signature: one line, no pod"

expect_status 254 G run --stage1-hash=sha512-0123456789abcdef "$BBID"
one_line "a wrong hash"
grep -q 'no image sha512-0123456789abcdef in the store' "$T/err" || fail "wrong hash: $(cat "$T/err")"
expect_status 2 G run --stage1-hash=nothex "$BBID"
expect_status 2 G run --stage1-name=ns --stage1-path="$NS" "$BBID"
grep -q 'exclude each other' "$T/err" || fail "two stage1 flags: $(cat "$T/err")"
expect_status 254 G run --stage1-name=nosuch "$BBID"
one_line "an unknown stage1 name"
grep -q 'no stage1 named "nosuch"' "$T/err" || fail "unknown name: $(cat "$T/err")"
no_pods "wrong hash, bad flags, unknown name"
ok "a wrong hash, two stage1 flags, an unknown name: one line each, no pod"
