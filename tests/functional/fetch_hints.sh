#!/usr/bin/env bash
# What a user who names an image the way another tool does is told (issue 13 item 10): a
# registry that speaks plain http, fetched without --insecure-options=http, gets one line
# pointing at that flag (not a bare OpenSSL error); a `docker save` tarball is refused in one
# line saying what it is and how to convert it (not "manifest.json: outside rootfs"), as is
# docker-archive:; skopeo's oci-archive:FILE[:REF] fetches what oci:FILE[:REF] does.
source "$(dirname "$0")/lib.sh"
D=$T/data
F() { "$FERRY" --dir "$D" "$@"; }
one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$1: not one line: $(cat "$T/err")"; }

# --- a plain http server where https is expected.
python3 -m http.server --bind 127.0.0.1 0 >"$T/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do
  port=$(grep -o 'port [0-9]*' "$T/http.log" | grep -o '[0-9]*' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the http server did not start: $(cat "$T/http.log")"
expect_status 254 F fetch "docker://127.0.0.1:$port/ferry/none:v1"
one_line "a plain http registry"
grep -q -- '--insecure-options=http' "$T/err" || fail "a plain http registry: $(cat "$T/err")"
ok "a plain http registry without --insecure-options=http: one line naming the flag"

# --- a docker save tarball (docker's layout: manifest.json, repositories, a layer per directory).
mkdir -p "$T/save/0123abcd" "$T/layer/etc"
echo hi >"$T/layer/etc/hi"
tar -C "$T/layer" -cf "$T/save/0123abcd/layer.tar" etc
echo '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}' >"$T/save/cfg.json"
echo '[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":["0123abcd/layer.tar"]}]' >"$T/save/manifest.json"
echo '{"x":{"1":"0123abcd"}}' >"$T/save/repositories"
tar -C "$T/save" -cf "$T/saved.tar" manifest.json repositories cfg.json 0123abcd
expect_status 254 F --insecure-options=image fetch "$T/saved.tar"
one_line "a docker save tarball"
grep -q 'docker save tarball' "$T/err" && grep -q 'skopeo copy docker-archive:' "$T/err" ||
  fail "a docker save tarball: $(cat "$T/err")"
expect_status 254 F --insecure-options=image fetch "docker-archive:$T/saved.tar"
one_line "docker-archive:"
grep -q 'not supported: docker-archive:' "$T/err" || fail "docker-archive: $(cat "$T/err")"
# An ACI that is broken otherwise keeps its own error.
tar -C "$T/layer" -cf "$T/broken.aci" etc
expect_status 254 F --insecure-options=image fetch "$T/broken.aci"
! grep -q 'docker' "$T/err" || fail "a broken ACI called a docker tarball: $(cat "$T/err")"
ok "a docker save tarball and docker-archive: refused in one line saying how to convert"

# --- oci-archive:FILE[:REF] as skopeo names it.
expect_status 0 F fetch "oci:$FIXTURES/oci:v1"
want=$(cat "$T/out")
tar -C "$FIXTURES/oci" -cf "$T/layout.tar" .
expect_status 0 F fetch "oci-archive:$T/layout.tar:v1"
[ "$(cat "$T/out")" = "$want" ] || fail "oci-archive: fetched $(cat "$T/out"), oci: $want"
expect_status 254 F fetch "oci-archive:$FIXTURES/oci:v1"
one_line "oci-archive: of a directory"
grep -q "oci:$FIXTURES/oci" "$T/err" || fail "oci-archive: of a directory: $(cat "$T/err")"
ok "oci-archive:FILE:REF fetches what oci: does; a directory is named oci:"
echo "$checks passed, 0 failed"
