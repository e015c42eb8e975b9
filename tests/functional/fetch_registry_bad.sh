#!/usr/bin/env bash
# `ferry fetch docker://…` against bad registries: a fault-injecting proxy (services/
# fault_proxy.py) in front of the real docker-registry serves a wrong-digest blob, a truncated
# blob, 404, 500, a stalled transfer and malformed manifests; hostile layers (../, absolute
# name, a write through a symlink, a device node) are pushed into the registry by skopeo; a
# small tmpfs as --dir fills up (during a fetch, and during a render). Each time: exit 254, one
# line naming what failed, and the store exactly as before (store_snapshot: index rows and
# blob/tree lists; no tree and no temp file or directory left). A fetch renders the image's tree
# while it downloads (the render checks the layers); the hostile and bad diff_id cases also run
# with --no-render (LayerCheck).
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require docker-registry skopeo
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed (store_snapshot needs it)"
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=http "$@"; }

# --- images: a 3-layer image (layers of a few hundred KB), one per hostile kind ---------------
svc_registry plain
mkimage() { # NAME TAG LAYER-SPEC... (each spec: mklayer.py arguments joined by ':')
  local name=$1 tag=$2 i=0 spec layers=()
  shift 2
  mkdir -p "$T/img/$name"
  for spec in "$@"; do
    # shellcheck disable=SC2086  # the spec's words are mklayer.py's arguments
    python3 "$TOOLS/mklayer.py" "$T/img/$name/l$i.tar.gz" ${spec//:/ }
    layers+=("$T/img/$name/l$i.tar.gz")
    i=$((i + 1))
  done
  python3 "$TOOLS/mklayout.py" "$T/img/$name/oci" "$tag" "${layers[@]}"
  svc_push "oci:$T/img/$name/oci:$tag" "ferry/$name:$tag" >/dev/null 2>"$T/push.err" ||
    { cat "$T/push.err" >&2; fail "skopeo could not push $name"; }
}
mkimage three v1 data:1:0.3:0.2:20 data:2:0.3:0.2 data:3:0.2:0.2
for k in dotdot absolute symlink device; do mkimage "hostile-$k" v1 data:9:0.01:0.01 "hostile:$k"; done
# A config whose rootfs.diff_ids names another tar for the second layer.
WRONG_DIFF_ID=1 mkimage bad-diff-id v1 data:6:0.1:0.1 data:7:0.1:0.1
mkimage big v1 data:4:6:0
mkimage airy v1 data:5:0:3  # 3 MB of text, about 1.3 MB compressed
svc_fault_proxy "$REGISTRY_URL"
P=$FAULT_PROXY_HOST
manifest=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_HOST/ferry/three:v1")
mapfile -t layers < <(python3 -c 'import json,sys; [print(l["digest"]) for l in json.loads(sys.argv[1])["layers"]]' "$manifest")
config=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["config"]["digest"])' "$manifest")
[ ${#layers[@]} = 3 ] || fail "the test image should have 3 layers, not ${#layers[@]}"

# The store holds something already, so "as before" is not just "empty".
expect_status 0 F fetch --no-render "oci:$FIXTURES/oci:v1"  # no tree: "no tree left" below
ok "the store starts with one image: $(cat "$T/out")"

# bad_case NAME GREP RULE...: with the proxy's RULEs, fetch ferry/three:v1 through the proxy
# (or $IMAGE) → 254, one line on stderr matching GREP, the store unchanged, nothing left of
# the attempt once gc ran.
bad_case() {
  local name=$1 want=$2
  shift 2
  printf '%s\n' "$@" >"$FAULT_PROXY_RULES"
  store_snapshot "$D" >"$T/before"
  expect_status 254 F fetch ${FETCH_FLAGS:-} "docker://$P/${IMAGE:-ferry/three:v1}"
  # (stderr also has the plain progress lines of blobs that started; the error is one line)
  grep '^ferry: ' "$T/err" >"$T/error" || true
  [ "$(wc -l <"$T/error")" = 1 ] || { cat "$T/err" >&2; fail "$name: want one error line"; }
  grep -qE -- "$want" "$T/error" || { cat "$T/err" >&2; fail "$name: the error does not name $want"; }
  store_snapshot "$D" >"$T/after"
  diff -u "$T/before" "$T/after" >&2 || fail "$name: the store changed"
  local leftovers
  leftovers=$(find "$D/cas" -name '.blob.tmp-*' | wc -l)
  [ "$leftovers" = 0 ] || fail "$name: $leftovers temporary blob files left behind"
  [ -z "$(ls -A "$D/cas/tmp" 2>/dev/null)" ] || fail "$name: left $(ls "$D/cas/tmp") in cas/tmp"
  [ -z "$(ls -A "$D/cas/trees" 2>/dev/null)" ] || fail "$name: left a tree: $(ls "$D/cas/trees")"
  ok "$name${FETCH_FLAGS:+ ($FETCH_FLAGS)}: $(cat "$T/error")"
}

L0=${layers[0]} L1=${layers[1]} L2=${layers[2]}
bad_case "wrong digest" "layer $L1|blob $L1" "/blobs/$L1 corrupt"
bad_case "truncated blob" "blob $L2.*truncated|$L2" "/blobs/$L2 truncate"
bad_case "404 on a layer" "$L0.*404" "/blobs/$L0 status 404"
bad_case "500 on the manifest" "/v2/ferry/three/manifests/v1.*500" "/manifests/ status 500"
bad_case "404 on the config" "$config.*404" "/blobs/$config status 404"
bad_case "wrong config digest" "config $config" "/blobs/$config corrupt"
# A stall: headers and a few bytes, then silence; the stall timeout ends it.
FERRY_HTTP_STALL_TIMEOUT=2 bad_case "stalled transfer" "$L2.*stalled" "/blobs/$L2 stall 1000"
grep -q "/blobs/$L2 stall" "$FAULT_PROXY_LOG" || fail "the proxy never stalled a transfer"
# A server that takes the request and never answers at all.
FERRY_HTTP_STALL_TIMEOUT=2 bad_case "silent server" "manifest.*stalled" "/manifests/ hang"

# Malformed manifests (served for the tag; the proxy makes Docker-Content-Digest match).
echo '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": ' >"$T/m-json"
python3 - "$manifest" "$T" <<'PY'
import json, sys
m, t = json.loads(sys.argv[1]), sys.argv[2]
a = json.loads(sys.argv[1]); a["layers"][1]["size"] = "big"
open(t + "/m-type", "w").write(json.dumps(a))
b = json.loads(sys.argv[1]); b["layers"][0]["digest"] = "sha256:xyz"
open(t + "/m-digest", "w").write(json.dumps(b))
c = json.loads(sys.argv[1]); del c["config"]
open(t + "/m-noconfig", "w").write(json.dumps(c))
PY
bad_case "manifest not JSON" "manifest" "/manifests/v1 body $T/m-json"
bad_case "manifest field of the wrong type" "layers\[1\]\.size" "/manifests/v1 body $T/m-type"
bad_case "manifest with a bad digest" "layers\[0\]\.digest" "/manifests/v1 body $T/m-digest"
bad_case "manifest without config" "config" "/manifests/v1 body $T/m-noconfig"
: >"$FAULT_PROXY_RULES"

# Hostile layers: refused while they download, nothing written anywhere.
for flags in "" --no-render; do
  for k in dotdot absolute symlink device; do
    case $k in
      dotdot) want='\.\.' ;;
      absolute) want='absolute' ;;
      symlink) want='esc/ferry-escape.*symlink' ;;
      device) want='ferry-null.*device' ;;
    esac
    rm -f /tmp/ferry-escape
    FETCH_FLAGS=$flags IMAGE=ferry/hostile-$k:v1 bad_case "hostile layer ($k)" "$want"
    [ ! -e /tmp/ferry-escape ] && [ ! -e "$(dirname "$D")/ferry-escape" ] || fail "$k: a file escaped"
  done
  FETCH_FLAGS=$flags IMAGE=ferry/bad-diff-id:v1 bad_case "a wrong rootfs.diff_ids entry" \
    "layer sha256:[0-9a-f]+ of .*uncompressed layer has digest sha256:.*diff_ids says"
done

# Disk full: --dir on a small tmpfs that holds the store but not a 6 MB layer.
mkdir -p "$T/small"
if mount -t tmpfs -o size=3m ferry-test "$T/small" 2>"$T/mount.err"; then
  small_mounted=1
  trap 'umount "$T/small" 2>/dev/null || true; svc_stop_all; rm -rf "$T"' EXIT
  D=$T/small/data
  expect_status 0 F fetch --no-render "oci:$FIXTURES/oci:v1"
  IMAGE=ferry/big:v1 bad_case "disk full" "No space left on device|disk full|ENOSPC"
  # A layer that fits, whose rendered tree does not: render fails, the store unchanged, no
  # output directory left; the same for a render into the tree store (prepare's).
  # The layer fits, the tree rendered while it downloads does not: nothing is kept.
  IMAGE=ferry/airy:v1 bad_case "disk full while the fetch renders" "No space left on device"
  expect_status 0 F fetch --no-render "docker://$P/ferry/airy:v1"
  airy=$(cat "$T/out")
  store_snapshot "$D" >"$T/before"
  expect_status 254 F image render --rootfs-only "$airy" "$T/small/airy-rootfs"
  grep -q "No space left on device" "$T/err" || { cat "$T/err" >&2; fail "render: not ENOSPC"; }
  [ "$(grep -c '^ferry: ' "$T/err")" = 1 ] || { cat "$T/err" >&2; fail "render: want one error line"; }
  store_snapshot "$D" >"$T/after"
  diff -u "$T/before" "$T/after" >&2 || fail "render on a full disk changed the store"
  [ -z "$(ls -A "$D/cas/tmp")" ] || fail "render on a full disk left $(ls "$D/cas/tmp")"
  [ ! -e "$T/small/airy-rootfs" ] || fail "render on a full disk left its output directory"
  [ -z "$(ls -A "$T/small" | grep '\.tmp-')" ] || fail "render on a full disk left $(ls -A "$T/small")"
  ok "render on a full disk: $(grep '^ferry: ' "$T/err")"
  if [ "$(id -u)" = 0 ]; then
    expect_status 254 F prepare "$airy"
    grep -q "No space left on device" "$T/err" || { cat "$T/err" >&2; fail "prepare: not ENOSPC"; }
    [ -z "$(ls -A "$D/cas/tmp")" ] || fail "a tree render on a full disk left $(ls "$D/cas/tmp")"
    [ -z "$(find "$D/cas/trees" -mindepth 1 2>/dev/null)" ] || fail "a tree render on a full disk left a tree"
    ok "a tree render (prepare) on a full disk: $(grep '^ferry: ' "$T/err")"
  fi
  umount "$T/small"
  small_mounted=0
else
  echo "# no tmpfs for the disk-full case: $(cat "$T/mount.err")"
fi
: "${small_mounted:=0}"
D=$T/data

# After all that, the real thing works through the proxy and the store verifies.
expect_status 0 F fetch "docker://$P/ferry/three:v1"
ok "with the faults gone the image fetches: $(cat "$T/out")"
expect_status 0 F image verify
ok "store verifies clean"
echo "$checks passed, 0 failed"
