#!/usr/bin/env bash
# `ferry fetch docker://…` from Debian's docker-registry in each mode real registries use:
# plain HTTP (only with --insecure-options=http), TLS with a test CA, htpasswd basic auth and
# the bearer-token flow with a JWT issuer. Images are pushed by skopeo (a peer); the fetched
# image's ID must be the manifest digest skopeo reports, and the store must verify clean.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require docker-registry skopeo
svc_ca
D=$T/data
F() { "$FERRY" --dir "$D" "$@"; }

fetch_mode() { # MODE
  local mode=$1 ref digest
  svc_registry "$mode"
  ref=$(svc_push "oci:$FIXTURES/oci:v2" "ferry/$mode:v2")
  digest=$("$here/services/registry.sh" inspect "$REGISTRY_DIR" "ferry/$mode:v2" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
  case $mode in
    plain)
      expect_status 254 F fetch "docker://$ref"
      ok "plain http refused without --insecure-options=http: $(head -c 150 "$T/err")"
      expect_status 0 F --insecure-options=http fetch --no-render "docker://$ref"
      [ -z "$(ls -A "$D/cas/trees" 2>/dev/null)" ] || fail "fetch --no-render left a tree"
      ok "fetch --no-render stores the image and renders no tree"
      expect_status 0 F --insecure-options=http fetch --pull-policy=update "docker://$ref"
      [ "$(ls "$D/cas/trees" | wc -l)" = 1 ] || fail "fetch rendered no tree: $(ls -A "$D/cas")"
      [ -z "$(ls -A "$D/cas/tmp")" ] || fail "fetch left $(ls "$D/cas/tmp") in cas/tmp"
      ok "fetch renders the image's tree into the tree store" ;;
    tls)
      expect_status 254 F fetch "docker://$ref"
      ok "an unknown CA is refused: $(head -c 150 "$T/err")"
      SSL_CERT_FILE=$REGISTRY_CA expect_status 0 F fetch "docker://$ref" ;;
    htpasswd | token)
      echo '{"auths":{}}' >"$T/no-auth.json"
      expect_status 254 env SSL_CERT_FILE="$REGISTRY_CA" FERRY_AUTH_FILE="$T/no-auth.json" "$FERRY" --dir "$D" fetch "docker://$ref"
      ok "$mode: anonymous pull refused: $(head -c 150 "$T/err")"
      printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_HOST" \
        "$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)" >"$T/auth-$mode.json"
      SSL_CERT_FILE=$REGISTRY_CA FERRY_AUTH_FILE=$T/auth-$mode.json expect_status 0 F fetch "docker://$ref" ;;
  esac
  [ "$(cat "$T/out")" = "$digest" ] || fail "$mode: fetched $(cat "$T/out"), skopeo says $digest"
  first_ref=${first_ref:-$ref}
  ok "$mode: fetched docker://$ref as $digest"
}

for mode in plain tls htpasswd token; do fetch_mode "$mode"; done
if [ -n "${REGISTRY_TOKEN_LOG:-}" ] && [ -f "$REGISTRY_TOKEN_LOG" ]; then
  grep -q 'repository:ferry/token:pull' "$REGISTRY_TOKEN_LOG" || fail "ferry asked the issuer for no pull scope"
  ok "the token issuer saw ferry's scoped request"
fi

# The tree the first fetch rendered serves the same layers pushed again: nothing is rendered twice.
[ "$(ls "$D/cas/trees" | wc -l)" = 1 ] || fail "the same layers got $(ls "$D/cas/trees" | wc -l) trees"
ok "one tree for the four fetches of the same layers"

# Pull policy new: a second fetch answers from the store, even with the registry gone.
svc_stop_all
expect_status 0 F --insecure-options=http fetch "docker://$first_ref"
ok "pull policy new: no network call for an image the store has"
expect_status 254 F --insecure-options=http fetch --pull-policy=update "docker://$first_ref"
ok "pull policy update goes to the (stopped) registry: $(head -c 120 "$T/err")"
expect_status 0 F image verify
ok "store verifies clean: $(cat "$T/out")"
expect_status 0 F --format=json image list
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len(l)==1 and set(l[0]["tags"])>={"v2"}, l' "$T/out"
ok "one image (the same manifest pushed four times)"
echo "$checks passed, 0 failed"
