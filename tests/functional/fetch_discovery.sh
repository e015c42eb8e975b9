#!/usr/bin/env bash
# `ferry fetch` and `ferry trust` over the network, against nginx (HTTPS with a test CA) in the
# test's own network namespace, where ferry.test is 127.0.0.1: appc names through meta discovery
# (longest prefix first, labels, {ext}, templates with unfilled variables dropped), https and
# (when allowed) http ACI URLs, dependencies by name+labels and by image ID, pull policies with
# ETag (304) and Cache-Control, --insecure-options=tls, and keys from a URL and from discovery.
# /cached/ answers with a Cache-Control max-age; the discovery page of ferry.test/httpdisc is
# served over plain http only (https gives 404).
NGINX_EXTRA_CONF='location /cached/ { add_header Cache-Control "public, max-age=3600"; }
location = /httpdisc {
  if ($scheme = https) { return 404; }
  rewrite ^ /httpdisc/ac-discovery.html break;
}'
source "$(dirname "$0")/discovery_lib.sh"

# --- trust: a key from an https URL, and keys from ac-discovery-pubkeys
expect_status 0 F trust --prefix=$DOMAIN --skip-fingerprint-review "https://$DOMAIN/keys/alice.pub.asc"
grep -q "trusted $ALICE_FPR for prefix $DOMAIN" "$T/out" || fail "trust URL: $(cat "$T/out" "$T/err")"
grep -q "Fingerprint: $ALICE_FPR" "$T/err" || fail "trust URL shows no fingerprint"
ok "trust --prefix from an https URL: $ALICE_FPR"
D2=$T/data2
expect_status 0 "$FERRY" --dir "$D2" trust --prefix=$DOMAIN/app --skip-fingerprint-review
grep -q "trusted $ALICE_FPR for prefix $DOMAIN/app" "$T/out" || fail "trust by discovery: $(cat "$T/out" "$T/err")"
grep -q "Fingerprint: $ALICE_FPR" "$T/err" || fail "trust by discovery shows no fingerprint"
grep -q "https://$DOMAIN/keys/alice.pub.asc" "$T/err" || fail "trust by discovery does not name the key's URL"
expect_status 0 "$FERRY" --dir "$D2" trust --list
grep -qP "^$DOMAIN/app\t$ALICE_FPR\$" "$T/out" || fail "trust --list: $(cat "$T/out")"
ok "trust --prefix without a key: discovered, fingerprint shown, stored for the prefix"
expect_status 2 "$FERRY" --dir "$D2" trust --root --skip-fingerprint-review
expect_status 254 "$FERRY" --dir "$D2" trust --prefix=$DOMAIN/app --skip-fingerprint-review "https://$DOMAIN/keys/nobody.asc"
grep -q '404' "$T/err" || fail "missing key URL: $(cat "$T/err")"
ok "trust --root needs keys; a missing key URL is a 404 error"

# --- by name: /app?ac-discovery=1 is 404, so discovery falls back to the root page
app=$(publish $DOMAIN/app 1.0)
expect_status 0 F fetch $DOMAIN/app:1.0
app_id=$(cat "$T/out")
[ "$app_id" = "$(aci_id "$app")" ] || fail "ID $app_id is not the sha512 of the served ACI"
grep -q '"GET /app?ac-discovery=1 HTTP/1.1" 404' "$NGINX_DIR/requests.log" || fail "no /app discovery"
l1=$(grep -n '"GET /app?ac-discovery=1 ' "$NGINX_DIR/requests.log" | head -1 | cut -d: -f1)
l2=$(grep -n '"GET /?ac-discovery=1 HTTP/1.1" 200' "$NGINX_DIR/requests.log" | head -1 | cut -d: -f1)
[ -n "$l2" ] && [ "$l1" -lt "$l2" ] || fail "prefixes not asked longest first"
grep -q "\"GET /images/$DOMAIN/app-1.0-linux-$ARCH.aci.asc HTTP/1.1\" 200" "$NGINX_DIR/requests.log" ||
  fail "the signature was not fetched"
grep -q "^Downloading app-1.0-linux-$ARCH.aci" "$T/err" && grep -q "^Downloaded app-1.0-linux-$ARCH.aci: " "$T/err" ||
  fail "no plain progress lines for the download: $(cat "$T/err")"
expect_status 0 F --format=json image list
python3 - "$T/out" "$app_id" "$ARCH" <<'PY'
import json, sys
images = {i["id"]: i for i in json.load(open(sys.argv[1]))}
i = images[sys.argv[2]]
assert i["name"] == "ferry.test/app", i
labels = i["labels"] if isinstance(i["labels"], dict) else {l["name"]: l["value"] for l in i["labels"]}
assert labels == {"version": "1.0", "os": "linux", "arch": sys.argv[3]}, labels
PY
ok "fetch $DOMAIN/app:1.0 by discovery (longest prefix first, os/arch from the host): $app_id"

# --- labels in templates; a template with a variable it cannot fill is dropped
mkdir -p "$NGINX_WWW/labels"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" labels \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/labels https://$DOMAIN/flavored/{name}-{flavor}.{ext}\">" \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/labels https://$DOMAIN/channels/{name}-{version}-{channel}.{ext}\">" >/dev/null
f=$NGINX_WWW/channels/$DOMAIN/labels-2.0-beta.aci
mkdir -p "$(dirname "$f")"
python3 "$TOOLS/mkaci.py" "$f" $DOMAIN/labels --label version=2.0 --label channel=beta --label os=linux --label "arch=$ARCH"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null
expect_status 0 F fetch "$DOMAIN/labels:2.0,channel=beta"
[ "$(cat "$T/out")" = "$(aci_id "$f")" ] || fail "labels: wrong image"
! grep -q '/flavored/' "$NGINX_DIR/requests.log" || fail "a template with an unfilled variable was used"
ok "template with {channel} and {ext} used, the one with {flavor} dropped"

# --- by https URL, and by http URL only with --insecure-options=http
url=$(publish $DOMAIN/url 1.0)
expect_status 0 F fetch "$(aci_url $DOMAIN/url 1.0)"
[ "$(cat "$T/out")" = "$(aci_id "$url")" ] || fail "https URL: wrong image"
ok "fetch by https URL (+ .asc)"

# --signature with an appc name (rkt's fetch --signature FILE NAME): the operator's file instead
# of the signature discovery names (none is published here); dependencies keep their own.
f=$(SIGNER= publish $DOMAIN/sigless 1.0)
expect_status 254 F fetch "$DOMAIN/sigless:1.0"
grep -q 'no signature' "$T/err" || fail "an unsigned discovered ACI: $(cat "$T/err")"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" bob >/dev/null && mv "$f.asc" "$T/sigless.bob.asc"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null && mv "$f.asc" "$T/sigless.asc"
expect_status 254 F fetch --signature "$T/sigless.bob.asc" "$DOMAIN/sigless:1.0"
one_line_error
expect_status 0 F fetch --signature "$T/sigless.asc" "$DOMAIN/sigless:1.0"
[ "$(cat "$T/out")" = "$(aci_id "$f")" ] || fail "fetch --signature NAME: $(cat "$T/out" "$T/err")"
! grep -q 'GET /images/[^ ]*sigless[^ ]*\.asc .* 200' "$NGINX_DIR/requests.log" || fail "a signature was downloaded"
ok "fetch --signature FILE NAME: discovery's ACI checked against the file (bob's refused, alice's taken)"
plain=$(publish $DOMAIN/plain 1.0)
expect_status 0 F --insecure-options=http fetch "http://$DOMAIN/images/$DOMAIN/plain-1.0-linux-$ARCH.aci"
[ "$(cat "$T/out")" = "$(aci_id "$plain")" ] || fail "http URL: wrong image"
ok "fetch by http URL with --insecure-options=http"

# --- discovery over http: only with --insecure-options=http, and after https failed. Without it,
# discovery goes on to the root page, whose template has no such image.
mkdir -p "$NGINX_WWW/httpdisc" "$NGINX_WWW/viahttp/$DOMAIN"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" httpdisc \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/httpdisc https://$DOMAIN/viahttp/{name}-{version}.{ext}\">" >/dev/null
f=$NGINX_WWW/viahttp/$DOMAIN/httpdisc-1.0.aci
python3 "$TOOLS/mkaci.py" "$f" $DOMAIN/httpdisc --label version=1.0 --label os=linux --label "arch=$ARCH"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null
expect_status 254 F fetch $DOMAIN/httpdisc:1.0
grep -q "/images/$DOMAIN/httpdisc-1.0-linux-$ARCH.aci\": 404" "$T/err" || fail "http discovery without the option: $(cat "$T/err")"
expect_status 0 F --insecure-options=http fetch $DOMAIN/httpdisc:1.0
[ "$(cat "$T/out")" = "$(aci_id "$f")" ] || fail "http discovery: wrong image"
ok "discovery over plain http only with --insecure-options=http, after https"

# --- --insecure-options=tls: without the test CA the certificate is refused, unless told
D3=$T/data3
expect_status 0 "$FERRY" --dir "$D3" trust --root --skip-fingerprint-review "$ALICE_PUB"
expect_status 254 env -u SSL_CERT_FILE "$FERRY" --dir "$D3" fetch "$(aci_url $DOMAIN/url 1.0)"
grep -qi 'certificate' "$T/err" || fail "unknown CA: $(cat "$T/err")"
expect_status 0 env -u SSL_CERT_FILE "$FERRY" --dir "$D3" --insecure-options=tls fetch "$(aci_url $DOMAIN/url 1.0)"
[ "$(cat "$T/out")" = "$(aci_id "$url")" ] || fail "tls: wrong image"
ok "an unknown CA is refused; --insecure-options=tls fetches"

# --- dependencies: by name+labels (discovery), by image ID (discovery with version=latest,
# then from the store)
dep_a=$(publish $DOMAIN/dep-a 1.0)
dep_b=$(publish $DOMAIN/dep-b latest --content "b, the latest")
dep_b_id=$(aci_id "$dep_b")
top=$(publish $DOMAIN/top 1.0 \
  --dep '{"imageName":"ferry.test/dep-a","labels":[{"name":"version","value":"1.0"}]}' \
  --dep "{\"imageName\":\"ferry.test/dep-b\",\"imageID\":\"$dep_b_id\"}")
expect_status 0 F fetch $DOMAIN/top:1.0
[ "$(cat "$T/out")" = "$(aci_id "$top")" ] || fail "top: wrong image"
expect_status 0 F --format=json image list
python3 - "$T/out" "$(aci_id "$dep_a")" "$dep_b_id" "$(aci_id "$top")" <<'PY'
import json, sys
ids = {i["id"] for i in json.load(open(sys.argv[1]))}
for want in sys.argv[2:]:
    assert want in ids, (want, ids)
PY
ok "dependencies fetched: by name+labels and by image ID"
before=$(grep -c "dep-b-latest" "$NGINX_DIR/requests.log")
top2=$(publish $DOMAIN/top2 1.0 --dep "{\"imageName\":\"ferry.test/dep-b\",\"imageID\":\"$dep_b_id\"}")
expect_status 0 F fetch $DOMAIN/top2:1.0
[ "$(cat "$T/out")" = "$(aci_id "$top2")" ] || fail "top2: wrong image"
[ "$(grep -c "dep-b-latest" "$NGINX_DIR/requests.log")" = "$before" ] || fail "dep-b fetched again"
ok "a dependency by image ID already in the store is not fetched again"

# --- pull policies: new makes no request; update sends If-None-Match and keeps the image on 304
n=$(nginx_requests)
expect_status 0 F fetch $DOMAIN/app:1.0
[ "$(cat "$T/out")" = "$app_id" ] || fail "new: another image"
[ "$(nginx_requests)" = "$n" ] || fail "--pull-policy=new made a request: $(tail -n +$((n + 1)) "$NGINX_DIR/requests.log")"
ok "--pull-policy=new: no network call for an image in the store"
etag=$(sqlite3 "$D/cas/index.db" "select etag from remotes where url = '$(aci_url $DOMAIN/app 1.0)'")
[ -n "$etag" ] || fail "no ETag recorded for $(aci_url $DOMAIN/app 1.0)"
expect_status 0 F image list --no-legend
cp "$T/out" "$T/images.before"
expect_status 0 F fetch --pull-policy=update $DOMAIN/app:1.0
[ "$(cat "$T/out")" = "$app_id" ] || fail "update/304: another image"
! grep -q '^Download' "$T/err" || fail "a 304 shows a download: $(cat "$T/err")"
grep "/images/$DOMAIN/app-1.0-linux-$ARCH.aci HTTP" "$NGINX_DIR/requests.log" | tail -1 >"$T/last"
inm=$(sed 's/.*inm=//' "$T/last")
grep -qF '" 304 ' "$T/last" && [[ $inm == *"${etag//\"/}"* ]] ||
  fail "update did not get a 304 to If-None-Match: $(cat "$T/last")"
expect_status 0 F image list --no-legend
diff -u <(awk '{print $1}' "$T/images.before") <(awk '{print $1}' "$T/out") || fail "304 changed the images"
ok "--pull-policy=update: If-None-Match $etag → 304, stored image kept"
app2=$(publish $DOMAIN/app 1.0 --content "app, rebuilt")
expect_status 0 F fetch --pull-policy=update $DOMAIN/app:1.0
[ "$(cat "$T/out")" = "$(aci_id "$app2")" ] && [ "$(cat "$T/out")" != "$app_id" ] ||
  fail "update after a change: $(cat "$T/out")"
ok "--pull-policy=update: a changed ACI (new ETag) is fetched: $(cat "$T/out")"

# --- Cache-Control max-age: a fresh answer is reused without a request
mkdir -p "$NGINX_WWW/cached"
python3 "$TOOLS/mkaci.py" "$NGINX_WWW/cached/c.aci" $DOMAIN/cached
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$NGINX_WWW/cached/c.aci" alice >/dev/null
expect_status 0 F fetch "https://$DOMAIN/cached/c.aci"
cached_id=$(cat "$T/out")
[ "$(sqlite3 "$D/cas/index.db" "select cache_max_age from remotes where url = 'https://$DOMAIN/cached/c.aci'")" = 3600 ] ||
  fail "max-age not recorded"
n=$(nginx_requests)
expect_status 0 F fetch --pull-policy=update "https://$DOMAIN/cached/c.aci"
[ "$(cat "$T/out")" = "$cached_id" ] || fail "cached: another image"
[ "$(nginx_requests)" = "$n" ] || fail "a fresh Cache-Control still made a request"
ok "Cache-Control max-age=3600 recorded; --pull-policy=update within it makes no request"
n=$(nginx_requests)
expect_status 0 F fetch --pull-policy=update "$(aci_url $DOMAIN/url 1.0)"
[ "$(nginx_requests)" -gt "$n" ] || fail "without Cache-Control, update made no request"
ok "without Cache-Control, update asks again"

expect_status 0 F image verify
ok "image verify clean"
echo "$checks passed, 0 failed"
