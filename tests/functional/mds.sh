#!/usr/bin/env bash
# `ferry metadata-service` as pods see it: the service runs in the host's namespaces, a "pod"
# (a network namespace made by `unshare -n`) registers with the listening socket it created on its
# own loopback (mds_register, the stage1's client code), and curl inside that namespace reads
# every appc endpoint: content types, bodies, 401 for a wrong token, 404/405, sign then verify.
# The host listener verifies the pod's signature; unregistering closes the pod's port.
here=$(cd "$(dirname "$0")" && pwd)

# --- the pod's side: run by mds_register inside the pod's network namespace -----------------
if [ "${1:-}" = --in-pod ]; then
  set -euo pipefail
  out=$2
  n=0
  check() { # WHAT CODE TYPE PATH [CURL ARGS...]: GET/POST $AC_METADATA_URL/acMetadata/v1/PATH
    local what=$1 code=$2 type=$3 path=$4 got
    shift 4
    got=$(curl -sS -o "$out/body" -w '%{http_code} %{content_type}' "$@" \
      "$AC_METADATA_URL/acMetadata/v1$path")
    if [ "$got" != "$code $type" ]; then
      echo "FAIL: $what: got '$got', want '$code $type'" >&2
      cat "$out/body" >&2
      exit 1
    fi
    n=$((n + 1))
    echo "ok pod $n - $what"
  }
  body_is() { # WHAT WANT
    if [ "$(cat "$out/body")" != "$2" ]; then
      echo "FAIL: $1: body '$(cat "$out/body")', want '$2'" >&2
      exit 1
    fi
  }
  json_is() { # WHAT PYTHON-EXPR-ON-d WANT-JSON
    python3 - "$out/body" "$2" "$3" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
got = eval(sys.argv[2], {"d": d})
want = json.loads(sys.argv[3])
if got != want:
    sys.exit("FAIL: %s: got %r, want %r" % (sys.argv[4], got, want))
EOF
  }
  text="text/plain; charset=us-ascii"

  check "pod uuid" 200 "$text" /pod/uuid
  body_is "pod uuid" "$POD_UUID"
  check "pod annotations" 200 application/json /pod/annotations
  json_is "pod annotations" d '[{"name":"ip-address","value":"10.1.2.3"},{"name":"example.com/role","value":"db"}]'
  check "one pod annotation" 200 "$text" /pod/annotations/example.com/role
  body_is "one pod annotation" db
  check "missing pod annotation" 404 "$text" /pod/annotations/nope
  check "pod manifest" 200 application/json /pod/manifest
  json_is "pod manifest" '[a["name"] for a in d["apps"]]' '["main","side"]'
  check "app annotations (merged)" 200 application/json /apps/main/annotations
  json_is "app annotations" d '[{"name":"authors","value":"Carly"},{"name":"lorem","value":"pod-wins"},{"name":"extra","value":"x"}]'
  check "one app annotation" 200 "$text" /apps/main/annotations/lorem
  body_is "one app annotation" pod-wins
  check "app without annotations" 200 application/json /apps/side/annotations
  json_is "app without annotations" d '[]'
  check "image manifest" 200 application/json /apps/side/image/manifest
  json_is "image manifest" 'd["name"]' '"example.com/side"'
  check "image id" 200 "$text" /apps/main/image/id
  body_is "image id" "$MAIN_ID"
  check "unknown app" 404 "$text" /apps/ghost/image/id
  check "unknown endpoint" 404 "$text" /pod/nothing
  check "wrong method" 405 "$text" /pod/uuid -X DELETE

  # A wrong token, and no token at all.
  url=$AC_METADATA_URL
  AC_METADATA_URL=${url%/*}/$(printf '%064d' 0)
  check "wrong token" 401 "$text" /pod/uuid
  AC_METADATA_URL=${url%/*}
  check "no token" 401 "$text" /pod/uuid
  AC_METADATA_URL=$url

  content="Old MacDonald Had A Farm"
  check "sign" 200 "$text" /pod/hmac/sign --data-urlencode "content=$content"
  sig=$(cat "$out/body")
  [ "$(printf %s "$sig" | base64 -d | wc -c)" = 64 ] || { echo "FAIL: not an HMAC-SHA512" >&2; exit 1; }
  printf %s "$sig" >"$out/sig"
  check "verify" 200 "$text" /pod/hmac/verify --data-urlencode "content=$content" \
    --data-urlencode "uuid=$POD_UUID" --data-urlencode "signature=$sig"
  check "verify tampered content" 403 "$text" /pod/hmac/verify \
    --data-urlencode "content=$content!" --data-urlencode "uuid=$POD_UUID" \
    --data-urlencode "signature=$sig"
  check "verify another uuid" 403 "$text" /pod/hmac/verify --data-urlencode "content=$content" \
    --data-urlencode "uuid=00000000-0000-4000-8000-000000000001" --data-urlencode "signature=$sig"
  check "verify garbage signature" 400 "$text" /pod/hmac/verify \
    --data-urlencode "content=$content" --data-urlencode "uuid=$POD_UUID" \
    --data-urlencode "signature=***"
  check "sign without content" 400 "$text" /pod/hmac/sign -d "other=1"
  check "sign with GET" 405 "$text" /pod/hmac/sign
  exit 0
fi

# --- the host's side ---------------------------------------------------------------------------
. "$here/lib.sh"
. "$here/services/lib.sh"
: "${MDS_REGISTER:?MDS_REGISTER must point to the mds_register test tool}"
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
for c in curl unshare ip python3; do command -v "$c" >/dev/null || skip "missing $c"; done
unshare -n true 2>/dev/null || skip "cannot create a network namespace here"

svc_mds
ok "metadata service listening on $MDS_SOCKET"
[ "$(stat -c %a "$MDS_SOCKET")" = 600 ] || fail "registration socket mode $(stat -c %a "$MDS_SOCKET")"
ok "registration socket is 0600"

uuid=$(cat /proc/sys/kernel/random/uuid)
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
main_id=sha512-$(printf main | sha512sum | cut -d' ' -f1)
side_id=sha512-$(printf side | sha512sum | cut -d' ' -f1)
pod=$T/pod
mkdir -p "$pod/apps/main" "$pod/apps/side" "$T/podout"
cat >"$pod/pod" <<EOF
{"acVersion":"0.8.11","acKind":"PodManifest",
 "apps":[{"name":"main","image":{"id":"$main_id"},
          "annotations":[{"name":"lorem","value":"pod-wins"},{"name":"extra","value":"x"}]},
         {"name":"side","image":{"id":"$side_id"}}],
 "annotations":[{"name":"ip-address","value":"10.1.2.3"},{"name":"example.com/role","value":"db"}]}
EOF
cat >"$pod/apps/main/manifest" <<'EOF'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/main",
 "annotations":[{"name":"authors","value":"Carly"},{"name":"lorem","value":"ipsum"}]}
EOF
echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/side"}' \
  >"$pod/apps/side/manifest"

# The pod: a network namespace with loopback up; port 2375 on *its* loopback.
in_pod() { # CMD...: runs CMD registered, inside a fresh network namespace
  unshare -n bash -c 'ip link set lo up && exec "$@"' in-pod \
    "$MDS_REGISTER" --socket "$MDS_SOCKET" --pod-dir "$pod" --uuid "$uuid" --token "$token" \
    --port 2375 -- "$@"
}
export POD_UUID=$uuid MAIN_ID=$main_id
set +e
in_pod bash "$here/mds.sh" --in-pod "$T/podout" >"$T/pod.log" 2>&1
status=$?
set -e
cat "$T/pod.log"
[ $status -eq 0 ] || fail "the pod's checks failed (exit $status); service log: $(tail -5 "$MDS_LOG")"
ok "every endpoint answered as the appc spec says, from inside the pod ($(grep -c '^ok pod' "$T/pod.log") checks)"
ok "unregistering closed the pod's port (mds_register checked it)"
grep -q "registered pod $uuid (2 apps)" "$MDS_LOG" || fail "no registration in the service log"
grep -q "unregistered pod $uuid" "$MDS_LOG" || fail "no unregistration in the service log"
ok "the service logged the registration and unregistration"

# The host's listener verifies the pod's signature, in the host's network namespace.
sig=$(cat "$T/podout/sig")
code() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
got=$(code --data-urlencode "content=Old MacDonald Had A Farm" --data-urlencode "uuid=$uuid" \
  --data-urlencode "signature=$sig" "$MDS_VERIFY_URL")
[ "$got" = 200 ] || fail "host verify: $got"
ok "host listener verifies the pod's signature after the pod is gone"
got=$(code --data-urlencode "content=Old MacDonald Had A Farm." --data-urlencode "uuid=$uuid" \
  --data-urlencode "signature=$sig" "$MDS_VERIFY_URL")
[ "$got" = 403 ] || fail "host verify of tampered content: $got"
ok "host listener refuses tampered content (403)"
got=$(code "${MDS_VERIFY_URL%/pod/hmac/verify}/pod/uuid")
[ "$got" = 404 ] || fail "host listener serves pod metadata: $got"
ok "host listener serves nothing but verify (404)"

# Refusals reach the pod's side as one line naming the cause.
mv "$pod/apps/side/manifest" "$T/side.manifest"
expect_status 254 in_pod true
grep -q "apps/side/manifest" "$T/err" || fail "missing manifest not named: $(cat "$T/err")"
ok "a pod directory without an app's manifest is refused, naming the file"
echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Not A Name"}' >"$pod/apps/side/manifest"
expect_status 254 in_pod true
grep -q "refused the pod: apps.side.imageManifest" "$T/err" ||
  fail "invalid manifest not named: $(cat "$T/err")"
ok "an invalid image manifest is refused by the service, naming the field"
mv "$T/side.manifest" "$pod/apps/side/manifest"

# Two pods with the same UUID cannot be registered at once.
expect_status 0 in_pod bash -c '
  unshare -n bash -c "ip link set lo up && exec \"\$@\"" x "$0" --socket "$1" --pod-dir "$2" \
    --uuid "$3" --token "$4" --port 2375 -- true 2>&1 | grep -q "registered already"' \
  "$MDS_REGISTER" "$MDS_SOCKET" "$pod" "$uuid" "$(printf '%064d' 1)"
ok "a second registration of a registered pod is refused"

# SIGTERM: the service exits 0 and removes its socket.
kill -TERM "$MDS_PID"
set +e
wait "$MDS_PID"
status=$?
set -e
[ $status -eq 0 ] || fail "metadata-service exited $status on SIGTERM"
[ ! -e "$MDS_SOCKET" ] || fail "socket left behind"
ok "SIGTERM: exit 0, socket removed"
echo "$checks passed, 0 failed"
