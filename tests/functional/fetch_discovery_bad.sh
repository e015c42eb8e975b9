#!/usr/bin/env bash
# Every bad answer a network fetch can get is refused with one line naming what failed, exit
# 254, and the store exactly as before (index rows and blob/tree lists, store_snapshot): 404,
# 500, a stalled server, a truncated ACI, a bad signature, an untrusted key, a name or label
# mismatch after discovery, a dependency cycle, a failing dependency, a hostile ACI (an entry
# leaving the image), and plain http without --insecure-options=http. nginx serves
# https://ferry.test in the test's own network namespace; stall.py listens on ferry.test:8443.
NGINX_EXTRA_CONF='location /fail/ { return 500; }'
source "$(dirname "$0")/discovery_lib.sh"
svc_stall 8443
export FERRY_HTTP_STALL_TIMEOUT=2

expect_status 0 F trust --prefix=$DOMAIN --skip-fingerprint-review "$ALICE_PUB"
publish $DOMAIN/good 1.0 >/dev/null
expect_status 0 F fetch $DOMAIN/good:1.0
store_snapshot "$D" >"$T/snap.before"
[ "$(grep -c '^INSERT INTO images' "$T/snap.before")" = 1 ] || fail "the baseline store holds no image"

# bad WHAT PATTERN FERRY-ARGS...: exit 254, one line matching PATTERN, store unchanged.
bad() {
  local what=$1 pattern=$2
  shift 2
  expect_status 254 F "$@"
  one_line_error
  grep -qiE -- "$pattern" "$T/err" || fail "$what: the error does not say /$pattern/: $(cat "$T/err")"
  store_snapshot "$D" >"$T/snap.after"
  diff -u "$T/snap.before" "$T/snap.after" >&2 || fail "$what: the store changed"
  [ -z "$(find "$D/tmp" "$D/cas/tmp" -mindepth 1 2>/dev/null)" ] || fail "$what: temp files left"
  ok "$what: $(tail -1 "$T/err")"
}

# 404: the discovery page matches, the ACI is not there.
bad "404" "404 Not Found" fetch $DOMAIN/missing:1.0

# 500 from the ACI's server.
mkdir -p "$NGINX_WWW/fail"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" fail \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/fail https://$DOMAIN/fail/{name}.{ext}\">" >/dev/null
bad "500" "500 Internal Server Error" fetch $DOMAIN/fail:1.0

# A server that sends 100 bytes of the ACI and then nothing.
mkdir -p "$NGINX_WWW/stall"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" stall \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/stall https://$DOMAIN:8443/{name}.{ext}\">" >/dev/null
bad "stalled server" "stalled" fetch $DOMAIN/stall:1.0

# A truncated ACI (its signature matches the truncated bytes, so the archive is what fails).
f=$(SIGNER= publish $DOMAIN/truncated 1.0)
head -c $(($(stat -c %s "$f") / 2)) "$f" >"$f.cut" && mv "$f.cut" "$f"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null
bad "truncated ACI" "truncated|unexpected end|eof|premature" fetch $DOMAIN/truncated:1.0

# A signature of other bytes.
f=$(publish $DOMAIN/badsig 1.0)
other=$(publish $DOMAIN/other 1.0)
cp "$other.asc" "$f.asc"
bad "bad signature" "bad signature" fetch $DOMAIN/badsig:1.0

# Signed by bob, whom nobody trusts.
SIGNER=bob publish $DOMAIN/untrusted 1.0 >/dev/null
bad "untrusted key" "not trusted" fetch $DOMAIN/untrusted:1.0

# No signature at all.
SIGNER= publish $DOMAIN/unsigned 1.0 >/dev/null
bad "unsigned" "no signature.*404" fetch $DOMAIN/unsigned:1.0

# Discovery's URL serves an image with another version label, or another name.
f=$(publish $DOMAIN/labelmismatch 1.0)
python3 "$TOOLS/mkaci.py" "$f" $DOMAIN/labelmismatch --label version=2.0 --label os=linux --label "arch=$ARCH"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null
bad "label mismatch" "label \"version\" is \"2.0\", not \"1.0\"" fetch $DOMAIN/labelmismatch:1.0
f=$(publish $DOMAIN/namemismatch 1.0)
python3 "$TOOLS/mkaci.py" "$f" $DOMAIN/impostor --label version=1.0 --label os=linux --label "arch=$ARCH"
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" alice >/dev/null
bad "name mismatch" "its name is \"$DOMAIN/impostor\"" fetch $DOMAIN/namemismatch:1.0

# A dependency cycle: cyc-a → cyc-b → cyc-a.
publish $DOMAIN/cyc-a 1.0 --dep '{"imageName":"ferry.test/cyc-b","labels":[{"name":"version","value":"1.0"}]}' >/dev/null
publish $DOMAIN/cyc-b 1.0 --dep '{"imageName":"ferry.test/cyc-a","labels":[{"name":"version","value":"1.0"}]}' >/dev/null
bad "dependency cycle" "dependency cycle: $DOMAIN/cyc-a -> $DOMAIN/cyc-b -> $DOMAIN/cyc-a" fetch $DOMAIN/cyc-a:1.0

# A dependency that fails (404) two levels down: neither the image nor the level between is stored.
publish $DOMAIN/chain-top 1.0 --dep '{"imageName":"ferry.test/chain-mid","labels":[{"name":"version","value":"1.0"}]}' >/dev/null
publish $DOMAIN/chain-mid 1.0 --dep '{"imageName":"ferry.test/chain-gone","labels":[{"name":"version","value":"1.0"}]}' >/dev/null
bad "failing dependency" "dependency \"$DOMAIN/chain-gone.*\" of \"$DOMAIN/chain-mid\".*404" fetch $DOMAIN/chain-top:1.0

# A dependency whose image ID is not the one the manifest names.
publish $DOMAIN/idpin 1.0 --dep "{\"imageName\":\"ferry.test/good\",\"imageID\":\"sha512-$(printf '%0128d' 0)\",\"labels\":[{\"name\":\"version\",\"value\":\"1.0\"}]}" >/dev/null
bad "dependency ID mismatch" "has ID .*asks for sha512-0000" fetch $DOMAIN/idpin:1.0

# A hostile ACI, signed by the trusted key: an entry that leaves the image.
publish $DOMAIN/hostile 1.0 --hostile >/dev/null
bad "hostile ACI" "rootfs/\.\./\.\./escaped" fetch $DOMAIN/hostile:1.0
[ ! -e "$D/escaped" ] && [ ! -e "$T/escaped" ] || fail "the hostile entry was written"

# Plain http: an http:// URL, and a discovery template pointing at http.
http_aci=$(publish $DOMAIN/plain 1.0)
bad "http URL" "plain http is not allowed" fetch "http://$DOMAIN/images/$DOMAIN/plain-1.0-linux-$ARCH.aci"
mkdir -p "$NGINX_WWW/httponly"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" httponly \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN/httponly http://$DOMAIN/images/{name}-{version}-{os}-{arch}.{ext}\">" >/dev/null
publish $DOMAIN/httponly 1.0 >/dev/null
bad "http template" "plain http is not allowed" fetch $DOMAIN/httponly:1.0

expect_status 0 F image verify
ok "image verify clean after every refusal"
echo "$checks passed, 0 failed"
