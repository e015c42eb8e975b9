#!/usr/bin/env bash
# The CLI's contract: help everywhere, exit statuses 0 / 2 / 254, one-line errors.
source "$(dirname "$0")/lib.sh"

expect_status 0 "$FERRY" version
grep -q '^ferry version ' "$T/out" || fail "version output"
ok "ferry version"
expect_status 0 "$FERRY" --format=json version
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["stage1Interface"]==1' "$T/out"
ok "ferry --format=json version is JSON"
# The commit, build type and the stage1s installed beside ferry; --version says the same.
src=$(cd "$(dirname "$0")/../.." && pwd)
if head=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null); then
  expect_status 0 "$FERRY" version
  grep -q "^commit .*$head" "$T/out" || fail "version: no commit $head: $(cat "$T/out")"
fi
expect_status 0 "$FERRY" version
grep -qx 'build type [A-Za-z]*' "$T/out" || fail "version: no build type: $(cat "$T/out")"
ns=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/ns
grep -qx "stage1 ns $ns" "$T/out" || fail "version: the ns stage1 ($ns) not listed: $(cat "$T/out")"
cp "$T/out" "$T/version"
expect_status 0 "$FERRY" --version
diff -u "$T/version" "$T/out" || fail "--version differs from version"
expect_status 2 "$FERRY" --version list
expect_status 0 "$FERRY" --format=json --version
jq -e --arg ns "$ns" '(.commit | length > 0) and (.buildType | length > 0) and
  any(.stage1s[]; .name == "ns" and .dir == $ns)' "$T/out" >/dev/null || fail "version JSON: $(cat "$T/out")"
ok "version and --version: commit, build type, the installed stage1s (text and JSON)"

for cmd in "help" "--help" "version --help" "image convert --help" "help image convert"; do
  # shellcheck disable=SC2086
  expect_status 0 "$FERRY" $cmd
  grep -qi 'usage' "$T/out" || fail "'ferry $cmd' prints no usage"
done
ok "help on every command"

expect_status 2 "$FERRY"
expect_status 2 "$FERRY" no-such-command
grep -q 'unknown command "no-such-command"' "$T/err" || fail "unknown command message"
expect_status 2 "$FERRY" image convert --no-such-flag a b
grep -q 'unknown flag --no-such-flag' "$T/err" || fail "unknown flag message"
expect_status 2 "$FERRY" image convert only-one-arg
expect_status 2 "$FERRY" --format=yaml version
ok "usage errors exit 2"

expect_status 254 "$FERRY" image convert "$T/missing.aci" "oci:$T/out-layout:x"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "error is not one line: $(cat "$T/err")"
grep -q 'missing.aci' "$T/err" || fail "error does not name the file"
[ ! -e "$T/out-layout" ] || fail "a failed convert left its destination behind"
ok "errors exit 254 with one line naming the file"
echo "$checks passed, 0 failed"

# libcurl, libarchive, ISA-L and GPGME are loaded on first use (common/lazy_lib.hpp), zlib, zstd
# and SQLite linked from their archives (Debian's -dev packages ship them): the executable
# does not need them at start-up, commands that do still work, and a library that cannot be loaded fails
# the command that needs it with one line naming it.
if readelf -d "$FERRY" | grep NEEDED | grep -E 'libcurl|libarchive|libgpgme|libsystemd|libisal|libsqlite3|libz\.|libzstd' >&2; then
  fail "ferry maps a library at start-up that it loads on first use or links in (see the lines above)"
fi
expect_status 0 "$FERRY" image convert "$FIXTURES/bb.aci" "oci:$T/lazy:x"
[ -f "$T/lazy/index.json" ] || fail "image convert wrote no layout"
# zstd (loaded on first use): a zstd layer that zstd itself reads back.
expect_status 0 "$FERRY" image convert --compression=zstd "$FIXTURES/bb.aci" "oci:$T/lazyz:x"
zlayer=$(find "$T/lazyz/blobs/sha256" -type f -size +20k | head -1)
[ -n "$zlayer" ] && zstd -t -q "$zlayer" || fail "the zstd convert wrote no zstd layer"
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  # No early exit in awk: ldconfig would die of SIGPIPE and pipefail end the script silently.
  lib=$(ldconfig -p | awk '$1 == "libarchive.so.13" && !found {print $NF; found = 1}')
  [ -n "$lib" ] || fail "ldconfig knows no libarchive.so.13"
  # shellcheck disable=SC2016
  expect_status 254 unshare -m sh -c 'mount --bind /dev/null "$1" && exec "$2" image convert "$3" "$4"' \
    sh "$(readlink -f "$lib")" "$FERRY" "$FIXTURES/bb.aci" "oci:$T/lazy2:x"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "error is not one line: $(cat "$T/err")"
  grep -q 'cannot load libarchive.so.13' "$T/err" || fail "error does not name the library: $(cat "$T/err")"
  [ ! -e "$T/lazy2" ] || fail "a failed convert left $T/lazy2"
fi
ok "libcurl, libarchive, ISA-L, zstd and GPGME are loaded on first use"

# A destination that is a bare file name lands in the working directory (the README's examples).
mkdir -p "$T/cwd"
(cd "$T/cwd" && expect_status 0 "$FERRY" image convert "oci:$T/lazy:x" app2.aci)
[ -s "$T/cwd/app2.aci" ] || fail "image convert to a bare file name wrote nothing"
tar -tzf "$T/cwd/app2.aci" manifest >/dev/null || fail "app2.aci is not an ACI"
(cd "$T/cwd" && expect_status 0 "$FERRY" --dir "$T/data" --insecure-options=image fetch "$FIXTURES/bb.aci")
id=$(tail -1 "$T/out")
(cd "$T/cwd" && expect_status 0 "$FERRY" --dir "$T/data" image export "$id" copy.aci)
cmp -s "$T/cwd/copy.aci" "$FIXTURES/bb.aci" || fail "image export to a bare file name: not the fetched ACI"
ok "image convert and image export write to a bare file name"
