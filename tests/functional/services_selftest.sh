#!/usr/bin/env bash
# Self test of the services harness (services/): every docker-registry mode with skopeo pushing
# and reading back the umoci fixture, anonymous and wrong-password access refused where auth is
# on, the token issuer's bearer flow by hand (x5c and kid headers), nginx over HTTPS with the
# test CA serving an appc discovery page and a gpg-signed file, and nothing left running.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/services/lib.sh"
svc_require
[ -f "$FIXTURES/oci/index.json" ] || fail "fixture layout $FIXTURES/oci missing"

want=$(skopeo inspect --format '{{.Digest}}' "oci:$FIXTURES/oci:v1")
ok "fixture oci:v1 is $want"

curl_code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }

for mode in plain tls htpasswd token; do
  svc_registry "$mode"
  ref=$(svc_push "oci:$FIXTURES/oci:v1" "ferry/selftest:v1" 2>"$T/push.err") ||
    { cat "$T/push.err" >&2; fail "$mode: skopeo copy into the registry"; }
  [ "$ref" = "$REGISTRY_HOST/ferry/selftest:v1" ] || fail "$mode: push.sh printed '$ref'"
  got=$("$SERVICES/registry.sh" inspect "$REGISTRY_DIR" ferry/selftest:v1 --format '{{.Digest}}' 2>"$T/inspect.err") ||
    { cat "$T/inspect.err" "$REGISTRY_DIR/registry.log" >&2; fail "$mode: skopeo inspect"; }
  [ "$got" = "$want" ] || fail "$mode: digest read back $got, pushed $want"
  ok "$mode: pushed with skopeo copy, read back $got"
  case $mode in
    plain)
      [ "$(curl_code "$REGISTRY_URL/v2/")" = 200 ] || fail "plain: /v2/ over http"
      ok "plain: /v2/ answers over http" ;;
    tls)
      [ "$(curl_code --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/")" = 200 ] || fail "tls: /v2/ with the CA"
      curl -s -o /dev/null "$REGISTRY_URL/v2/" 2>/dev/null && fail "tls: curl without the test CA succeeded"
      ok "tls: /v2/ verifies with the test CA only" ;;
    htpasswd)
      [ "$(curl_code --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/")" = 401 ] || fail "htpasswd: anonymous /v2/ not 401"
      curl -s -D - -o /dev/null --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/" | grep -qi '^www-authenticate: basic' ||
        fail "htpasswd: no Basic challenge"
      [ "$(curl_code --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:wrong" "$REGISTRY_URL/v2/")" = 401 ] ||
        fail "htpasswd: wrong password not refused"
      [ "$(curl_code --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "$REGISTRY_URL/v2/ferry/selftest/tags/list")" = 200 ] ||
        fail "htpasswd: basic auth refused"
      skopeo inspect --cert-dir "$REGISTRY_CERT_DIR" --no-creds "docker://$REGISTRY_HOST/ferry/selftest:v1" >/dev/null 2>&1 &&
        fail "htpasswd: anonymous skopeo inspect succeeded"
      ok "htpasswd: anonymous and wrong-password access refused (401), basic auth accepted" ;;
    token)
      hdr=$(curl -s -D - -o /dev/null --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/ferry/selftest/manifests/v1")
      grep -qi "^www-authenticate: Bearer realm=\"$REGISTRY_TOKEN_URL\",service=\"$REGISTRY_SERVICE\",scope=\"repository:ferry/selftest:pull\"" <<<"$hdr" ||
        { echo "$hdr" >&2; fail "token: no Bearer challenge"; }
      [ "$(curl_code --cacert "$REGISTRY_CA" "$REGISTRY_URL/v2/")" = 401 ] || fail "token: anonymous /v2/ not 401"
      q="service=$REGISTRY_SERVICE&scope=repository:ferry/selftest:pull"
      [ "$(curl_code --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:wrong" "$REGISTRY_TOKEN_URL?$q")" = 401 ] ||
        fail "token: issuer accepted a wrong password"
      [ "$(curl_code --cacert "$REGISTRY_CA" "$REGISTRY_TOKEN_URL?$q")" = 401 ] ||
        fail "token: issuer gave an anonymous token"
      grep -q '"scope": \["repository:ferry/selftest:pull,push"\].*"status": 200' "$REGISTRY_TOKEN_LOG" ||
        fail "token: skopeo's push did not get a pull,push token"
      ok "token: anonymous refused (registry and issuer 401), wrong password 401, skopeo did the bearer flow"
      ;;
  esac
done

# The bearer flow by hand, with each key identification the issuer offers.
for header in x5c kid; do
  TOKEN_HEADER=$header svc_registry token "$T/registry-token-$header"
  svc_push "oci:$FIXTURES/oci:v1" "ferry/selftest:v1" 2>"$T/push.err" >/dev/null ||
    { cat "$T/push.err" >&2; fail "token/$header: push"; }
  reply=$(curl -sf --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:$REGISTRY_PASSWORD" \
    "$REGISTRY_TOKEN_URL?service=$REGISTRY_SERVICE&scope=repository:ferry/selftest:pull") || fail "token/$header: issuer"
  tok=$(python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["token"]==r["access_token"] and r["expires_in"]==300; print(r["token"])' <<<"$reply")
  python3 - "$tok" "$header" "$REGISTRY_SERVICE" <<'PY' || fail "token/$header: JWT contents"
import base64, json, sys
tok, header, service = sys.argv[1:]
d = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
h, c = d(tok.split(".")[0]), d(tok.split(".")[1])
assert h["alg"] == "ES256", h
assert (header in h) and (("x5c" if header == "kid" else "kid") not in h), h
assert c["aud"] == service and c["iss"] == "ferry-test-issuer" and c["sub"] == "ferry", c
assert c["access"] == [{"type": "repository", "name": "ferry/selftest", "actions": ["pull"]}], c
assert c["nbf"] <= c["iat"] < c["exp"] and c["jti"], c
PY
  accept='application/vnd.oci.image.manifest.v1+json'
  code=$(curl_code --cacert "$REGISTRY_CA" -H "Accept: $accept" -H "Authorization: Bearer $tok" \
    "$REGISTRY_URL/v2/ferry/selftest/manifests/v1")
  [ "$code" = 200 ] || { tail -5 "$REGISTRY_DIR/registry.log" >&2; fail "token/$header: bearer GET manifest gave $code"; }
  # a pull token does not allow pushing; a token with a flipped signature byte is refused
  code=$(curl_code --cacert "$REGISTRY_CA" -X POST -H "Authorization: Bearer $tok" "$REGISTRY_URL/v2/ferry/selftest/blobs/uploads/")
  [ "$code" = 401 ] || fail "token/$header: pull-only token could start an upload ($code)"
  bad=$(python3 -c 'import base64, sys
h, c, s = sys.argv[1].split(".")
b = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
b[5] ^= 1
print(h + "." + c + "." + base64.urlsafe_b64encode(bytes(b)).decode().rstrip("="))' "$tok")
  code=$(curl_code --cacert "$REGISTRY_CA" -H "Authorization: Bearer $bad" "$REGISTRY_URL/v2/ferry/selftest/manifests/v1")
  [ "$code" = 401 ] || fail "token/$header: forged token accepted ($code)"
  ok "token/$header: hand-made bearer flow works, pull-only and forged tokens refused"
done

# nginx with the test CA: discovery page, static files, basic-auth area, plain http.
svc_nginx
page=$("$SERVICES/nginx.sh" discovery "$NGINX_DIR" ferry/app)
[ -f "$page" ] || fail "nginx.sh discovery wrote no page"
curl -sf --cacert "$NGINX_CA" "$NGINX_HTTPS_URL/ferry/app?ac-discovery=1" >"$T/disc.html" || fail "nginx: discovery page over https"
grep -q "<meta name=\"ac-discovery\" content=\"localhost/ferry/app $NGINX_HTTPS_URL/ferry/app/{name}-{version}-{os}-{arch}.{ext}\">" "$T/disc.html" ||
  { cat "$T/disc.html" >&2; fail "nginx: discovery page content"; }
[ "$(curl_code --cacert "$NGINX_CA" "$NGINX_HTTPS_URL/ferry/app/sub?ac-discovery=1")" = 404 ] ||
  fail "nginx: a path without a page must 404 (parent-path fallback)"
[ "$(curl_code --cacert "$NGINX_CA" "$NGINX_HTTPS_URL/ferry/app/ac-discovery.html")" = 404 ] ||
  fail "nginx: page reachable without ?ac-discovery=1"
curl -s -o /dev/null "$NGINX_HTTPS_URL/ferry/app?ac-discovery=1" 2>/dev/null && fail "nginx: https verified without the test CA"
ok "nginx: discovery page over HTTPS verified with the test CA, 404 for other paths"

# gpg: sign a file, serve file + signature + key, verify what came back.
svc_gpg ferry-signer
cp "$FIXTURES/bb.aci" "$NGINX_WWW/ferry/app/busybox-1.36-linux-amd64.aci"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$NGINX_WWW/ferry/app/busybox-1.36-linux-amd64.aci" >/dev/null
cp "$GPG_PUBKEY" "$NGINX_WWW/ferry/app/pubkeys.gpg"
for f in busybox-1.36-linux-amd64.aci busybox-1.36-linux-amd64.aci.asc pubkeys.gpg; do
  curl -sf --cacert "$NGINX_CA" -o "$T/$f" "$NGINX_HTTPS_URL/ferry/app/$f" || fail "nginx: fetch $f"
done
"$SERVICES/gpg.sh" verify "$T/pubkeys.gpg" "$T/busybox-1.36-linux-amd64.aci" 2>"$T/gpgv.err" ||
  { cat "$T/gpgv.err" >&2; fail "gpg: signature fetched over https does not verify"; }
echo tampered >>"$T/busybox-1.36-linux-amd64.aci"
"$SERVICES/gpg.sh" verify "$T/pubkeys.gpg" "$T/busybox-1.36-linux-amd64.aci" 2>/dev/null &&
  fail "gpg: tampered file verified"
grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$T/pubkeys.gpg" || fail "gpg: public key not armored"
ok "gpg: key $GPG_FPR, detached armored signature fetched over https verifies, tampering detected"

[ "$(curl_code "$NGINX_HTTP_URL/ferry/app/pubkeys.gpg")" = 200 ] || fail "nginx: plain http port"
mkdir -p "$NGINX_WWW/auth/private"
echo secret >"$NGINX_WWW/auth/private/file"
[ "$(curl_code --cacert "$NGINX_CA" "$NGINX_HTTPS_URL/auth/private/file")" = 401 ] || fail "nginx: /auth/ without credentials"
[ "$(curl_code --cacert "$NGINX_CA" -u "$NGINX_USER:$NGINX_PASSWORD" "$NGINX_HTTPS_URL/auth/private/file")" = 200 ] ||
  fail "nginx: /auth/ with credentials"
ok "nginx: plain http port, basic auth under /auth/"

# Stopping leaves nothing behind.
svc_stop_all
left=$(for p in /proc/[0-9]*; do
  c=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
  case $c in *"$T"*) [ "$(awk '{print $3}' "$p/stat" 2>/dev/null)" = Z ] || echo "${p#/proc/} $c" ;; esac
done)
[ -z "$left" ] || { echo "$left" >&2; fail "processes left running after svc_stop_all"; }
ok "all services stopped"
echo "services selftest: $checks checks passed"
