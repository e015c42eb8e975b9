#!/usr/bin/env bash
# ferry's configuration directories (rkt's): --system-config, --local-config, --user-config with
# paths.d, auth.d and docker.d (stage1.d: stage1_images.sh), merged as rkt does and printed by
# `ferry config`; auth.d credentials sent to an appc server that wants them (nginx's /auth/ with
# basic auth, /bearer/ with a token), over https only and to no other host; docker.d and
# podman's $XDG_RUNTIME_DIR/containers/auth.json for a registry with htpasswd auth. Runs in its
# own network namespace (discovery_lib.sh: https://ferry.test is nginx on 127.0.0.1:443).
NGINX_EXTRA_CONF='location /bearer/ {
  if ($http_authorization != "Bearer ferry-token") { return 401; }
}'
source "$(dirname "$0")/discovery_lib.sh"
export HOME=$T/home XDG_RUNTIME_DIR=$T/run  # no auth.json of the machine's
unset XDG_CONFIG_HOME FERRY_AUTH_FILE
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
SYS=$T/sys LOC=$T/local USR=$T/user
mkdir -p "$SYS/auth.d" "$LOC/auth.d" "$LOC/paths.d" "$USR/docker.d"
C() { "$FERRY" --system-config="$SYS" --local-config="$LOC" --user-config="$USR" "$@"; }
CD() { C --dir "$D" "$@"; }
json() { python3 -c "import json,sys; d=json.load(open('$T/out')); $1"; }

# --- Merging and `ferry config`: auth per domain (local over system), rkt's field names taken,
# paths from the local directory, secrets masked unless --show-secrets.
cat >"$SYS/auth.d/common.json" <<'J'
{"rktKind": "auth", "rktVersion": "v1", "domains": ["a.example", "b.example"], "type": "oauth",
 "credentials": {"token": "common-token"}}
J
cat >"$LOC/auth.d/a.json" <<'J'
{"ferryKind": "auth", "ferryVersion": "v1", "domains": ["a.example"], "type": "basic",
 "credentials": {"user": "alice", "password": "a-secret"}}
J
printf '{"ferryKind":"paths","ferryVersion":"v1","data":"%s"}' "$T/pdata" >"$LOC/paths.d/paths.json"
printf '{"ferryKind":"dockerAuth","ferryVersion":"v1","registries":["r.example"],"credentials":{"user":"u","password":"r-secret"}}' >"$USR/docker.d/r.json"
expect_status 0 C config
json '
e = {(x["ferryKind"], (x.get("domains") or x.get("registries") or [""])[0]): x for x in d["stage0"]}
a = e[("auth", "a.example")]; b = e[("auth", "b.example")]
assert a["type"] == "basic" and a["credentials"] == {"user": "alice", "password": "***"}, a
assert b["type"] == "oauth" and b["credentials"] == {"token": "***"}, b
assert e[("dockerAuth", "r.example")]["credentials"] == {"user": "u", "password": "***"}, e
' || fail "ferry config: $(cat "$T/out")"
grep -q "\"data\": \"$T/pdata\"" "$T/out" || fail "ferry config: no data path: $(cat "$T/out")"
! grep -q 'secret\|common-token' "$T/out" || fail "ferry config shows a secret: $(cat "$T/out")"
expect_status 0 C config --show-secrets
grep -q '"password": "a-secret"' "$T/out" && grep -q '"token": "common-token"' "$T/out" ||
  fail "config --show-secrets: $(cat "$T/out")"
ok "merged per domain (local over system), rkt's rktKind accepted, secrets masked but on request"

# paths.d's data is the data directory unless --dir.
cp "$FIXTURES/bb.aci" "$T/bb.aci"
expect_status 0 C --insecure-options=image fetch "$T/bb.aci"
[ -f "$T/pdata/cas/index.db" ] || fail "paths.d data: no store under $T/pdata"
expect_status 0 C image list -q
[ "$(wc -l <"$T/out")" = 1 ] || fail "image list with paths.d: $(cat "$T/out")"
expect_status 0 CD image list -q
[ ! -s "$T/out" ] || fail "--dir did not win over paths.d: $(cat "$T/out")"
ok "paths.d data holds the store; --dir wins"

# net.d follows the configuration directories (as rkt's): $dir/net.d, then --local-config's, then
# --system-config's, an earlier one winning a name; `ferry config` lists them in that order.
mkdir -p "$LOC/net.d" "$SYS/net.d" "$D/net.d"
cnet() { printf '{"cniVersion":"0.4.0","name":"%s","type":"ptp","ipam":{"type":"host-local","subnet":"%s"}}\n' "$1" "$2"; }
cnet lnet 198.18.5.0/24 >"$LOC/net.d/10-l.conf"
cnet lnet 198.18.6.0/24 >"$SYS/net.d/10-shadowed.conf"
cnet snet 198.18.7.0/24 >"$SYS/net.d/20-s.conf"
cnet dnet 198.18.8.0/24 >"$D/net.d/10-d.conf"
cnet snet 198.18.9.0/24 >"$D/net.d/20-over-s.conf"
expect_status 0 CD config
json "
p = [x for x in d['stage0'] if x['ferryKind'] == 'paths'][0]
assert p['net.d'] == ['$D/net.d', '$LOC/net.d', '$SYS/net.d'], p
" || fail "ferry config: net.d: $(cat "$T/out")"
if [ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/host-local ]; then
  expect_status 0 CD --insecure-options=image prepare --net=lnet,snet,dnet "$T/bb.aci"
  u=$(cat "$T/out")
  plan=$D/pods/prepared/$u/net/networks.json
  subnets=$(jq -r '.. | objects | select(has("subnet")) | .subnet' "$plan" | tr '\n' ' ')
  [ "$subnets" = "198.18.5.0/24 198.18.9.0/24 198.18.8.0/24 " ] || fail "networks found: $subnets ($(cat "$plan"))"
  expect_status 0 CD rm "$u"
  expect_status 254 CD --insecure-options=image prepare --net=nonet "$T/bb.aci"
  grep -qF "no network \"nonet\" in \"$D/net.d\", \"$LOC/net.d\" or \"$SYS/net.d\"" "$T/err" ||
    fail "an unknown network: $(cat "$T/err")"
  rm -r "$LOC/net.d" "$SYS/net.d" "$D/net.d"
  ok "net.d: \$dir's, then --local-config's, then --system-config's (an earlier one wins a name); ferry config lists them"
else
  echo "# the CNI plugins are not installed: net.d lookup not checked (containernetworking-plugins)"
fi

# Refused: a duplicate domain within one directory, a group-writable file, a wrong kind.
cp "$LOC/auth.d/a.json" "$LOC/auth.d/a2.json"
expect_status 254 C config
one_line_error
grep -q 'also set by' "$T/err" || fail "duplicate domain: $(cat "$T/err")"
rm "$LOC/auth.d/a2.json"
chmod g+w "$LOC/auth.d/a.json"
expect_status 254 C config
one_line_error
grep -q 'writable by others' "$T/err" || fail "group-writable: $(cat "$T/err")"
chmod g-w "$LOC/auth.d/a.json"
printf '{"ferryKind":"stage1","ferryVersion":"v1","name":"x"}' >"$LOC/auth.d/s.json"
expect_status 254 C config
one_line_error
grep -q 'auth.d holds kind' "$T/err" || fail "wrong kind: $(cat "$T/err")"
rm "$LOC/auth.d/s.json" "$LOC/paths.d/paths.json"
ok "duplicates within a directory, writable files and wrong kinds refused in one line"

# --- auth.d for an appc server: /auth/ (basic), /bearer/ (oauth).
F trust --prefix=$DOMAIN --skip-fingerprint-review "$ALICE_PUB" >/dev/null
for loc in auth bearer; do
  mkdir -p "$NGINX_WWW/$loc"
  python3 "$TOOLS/mkaci.py" "$NGINX_WWW/$loc/app-$loc.aci" "$DOMAIN/app-$loc" --label version=1.0 \
    --label os=linux --label "arch=$ARCH"
  "$SERVICES/gpg.sh" sign "$GPG_HOME" "$NGINX_WWW/$loc/app-$loc.aci" alice >/dev/null
done
expect_status 254 CD fetch "https://$DOMAIN/auth/app-auth.aci"
one_line_error
grep -q "401.*no credentials for $DOMAIN" "$T/err" || fail "no auth.d: $(cat "$T/err")"
ok "without auth.d: $(tail -1 "$T/err" | cut -c1-160)"
cat >"$LOC/auth.d/test.json" <<J
{"ferryKind": "auth", "ferryVersion": "v1", "domains": ["$DOMAIN"], "type": "basic",
 "credentials": {"user": "$NGINX_USER", "password": "$NGINX_PASSWORD"}}
J
before=$(nginx_requests)
expect_status 0 CD fetch "https://$DOMAIN/auth/app-auth.aci"
[ "$(cat "$T/out")" = "$(aci_id "$NGINX_WWW/auth/app-auth.aci")" ] || fail "basic auth fetch: $(cat "$T/out" "$T/err")"
tail -n +"$((before + 1))" "$NGINX_DIR/requests.log" >"$T/req"
grep -q '"GET /auth/app-auth.aci HTTP/1.1" 200 auth=Basic ' "$T/req" &&
  grep -q '"GET /auth/app-auth.aci.asc HTTP/1.1" 200 auth=Basic ' "$T/req" ||
  fail "the ACI and its signature were not fetched with basic auth: $(cat "$T/req")"
ok "auth.d basic: the ACI and its signature fetched with the credentials"
# Other hosts and plain http get nothing.
before=$(nginx_requests)
expect_status 254 CD fetch "https://localhost/auth/app-auth.aci"
grep -q 'no credentials for localhost' "$T/err" || fail "another host: $(cat "$T/err")"
expect_status 254 CD --insecure-options=http fetch "http://$DOMAIN/auth/app-auth.aci"
grep -q 'sent over https only' "$T/err" || fail "plain http: $(cat "$T/err")"
tail -n +"$((before + 1))" "$NGINX_DIR/requests.log" >"$T/req"
[ "$(grep -c 'auth=-' "$T/req")" -ge 2 ] && ! grep -q 'auth=Basic' "$T/req" ||
  fail "credentials went to another host or over http: $(cat "$T/req")"
ok "no credentials to another host (localhost) or over plain http"
# OAuth: a bearer token, in the user directory over a wrong one in the local directory.
printf '{"ferryKind":"auth","ferryVersion":"v1","domains":["%s"],"type":"oauth","credentials":{"token":"wrong"}}' "$DOMAIN" >"$LOC/auth.d/test.json"
expect_status 254 CD fetch "https://$DOMAIN/bearer/app-bearer.aci"
grep -q 'refused the auth.d credentials' "$T/err" || fail "wrong token: $(cat "$T/err")"
mkdir -p "$USR/auth.d"
printf '{"ferryKind":"auth","ferryVersion":"v1","domains":["%s"],"type":"oauth","credentials":{"token":"ferry-token"}}' "$DOMAIN" >"$USR/auth.d/t.json"
expect_status 0 CD fetch "https://$DOMAIN/bearer/app-bearer.aci"
ok "auth.d oauth: Bearer token (the user directory's over the local one's)"
rm -rf "$USR/auth.d" "$LOC/auth.d/test.json"

# --- docker.d and podman's auth.json for a registry with htpasswd auth.
svc_registry htpasswd
ref=$(svc_push "oci:$FIXTURES/oci:v2" "ferry/cfg:v2")
export SSL_CERT_FILE=$REGISTRY_CA
expect_status 254 CD fetch "docker://$ref"
ok "registry without credentials: $(tail -1 "$T/err" | cut -c1-120)"
printf '{"ferryKind":"dockerAuth","ferryVersion":"v1","registries":["%s"],"credentials":{"user":"%s","password":"%s"}}' \
  "$REGISTRY_HOST" "$REGISTRY_USER" "$REGISTRY_PASSWORD" >"$USR/docker.d/reg.json"
D=$T/data-docker expect_status 0 CD fetch "docker://$ref"
ok "docker.d credentials: $(cat "$T/out")"
rm "$USR/docker.d/reg.json"
mkdir -p "$XDG_RUNTIME_DIR/containers"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_HOST" \
  "$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)" >"$XDG_RUNTIME_DIR/containers/auth.json"
D=$T/data-podman expect_status 0 CD fetch "docker://$ref"
ok "podman's \$XDG_RUNTIME_DIR/containers/auth.json: $(cat "$T/out")"
echo "$checks passed, 0 failed"
