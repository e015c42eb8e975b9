#!/usr/bin/env bash
# A local ACI file fetched (or run) again is not read again while its identity (device, inode,
# size, modification and change times) is unchanged; any change to the file makes ferry read and
# verify it again: touched, rewritten in place with the same size and its modification time put
# back (the hostile swap), renamed over, or garbled. Whether the file was read is seen without
# timing anything: the store's blob of the image is removed between fetches, and only a fetch
# that reads the file writes it again.
source "$(dirname "$0")/lib.sh"
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }

mkaci() { # OUT CONTENT (the same length for every CONTENT: same tar size)
  rm -rf "$T/src" && mkdir -p "$T/src/rootfs"
  echo '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/cached","app":{"exec":["/bin/hello"],"user":"0","group":"0"}}' >"$T/src/manifest"
  printf '%s' "$2" >"$T/src/rootfs/data"
  tar -C "$T/src" --mtime=@0 --owner=0 --group=0 -cf "$1" manifest rootfs
}
blob_of() { echo "$D/cas/blobs/sha512/${1#sha512-}"; }
# The file's change time must lie outside the cache's racy window (2 s) before it is recorded.
age() { sleep 3; }

mkaci "$T/a.aci" AAAA
mkaci "$T/b.aci" BBBB
[ "$(stat -c %s "$T/a.aci")" = "$(stat -c %s "$T/b.aci")" ] || fail "fixtures differ in size"
ida=$(aci_id "$T/a.aci")
idb=$(aci_id "$T/b.aci")
[ "$ida" != "$idb" ] || fail "fixtures have the same ID"
cp "$T/a.aci" "$T/app.aci"
touch -d '2020-01-01 00:00:00' "$T/app.aci"
age

# Cold: read, verified, recorded.
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$ida" ] || fail "cold fetch: $(cat "$T/out"), want $ida"
[ "$(ls "$D/cas/aci-files" | wc -l)" = 1 ] || fail "no cache entry recorded"
[ "$(stat -c %a "$D/cas/aci-files")" = 700 ] || fail "cache directory is not 0700"
ok "cold fetch reads the file and records it"

# Warm: not read (the removed blob stays removed), same ID.
rm "$(blob_of "$ida")"
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$ida" ] || fail "warm fetch: $(cat "$T/out")"
[ ! -e "$(blob_of "$ida")" ] || fail "warm fetch read the unchanged file again"
ok "warm fetch of the unchanged file does not read it"

# Touched: read again (the blob comes back), same content, same ID.
touch "$T/app.aci"
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$ida" ] || fail "touched: $(cat "$T/out")"
[ -e "$(blob_of "$ida")" ] || fail "a touched file was not read again"
ok "touched file read again"

# The hostile swap: B's bytes written over the same inode, size and modification time as
# recorded. The change time moved: B is read and verified, and its ID returned.
touch -d '2020-01-01 00:00:00' "$T/app.aci"
age
expect_status 0 F fetch "$T/app.aci"  # recorded again with the new times
ino=$(stat -c %i "$T/app.aci")
touch -r "$T/app.aci" "$T/stamp"
dd if="$T/b.aci" of="$T/app.aci" conv=notrunc status=none
touch -r "$T/stamp" "$T/app.aci"
[ "$(stat -c %i.%s.%Y "$T/app.aci")" = "$ino.$(stat -c %s "$T/a.aci").$(stat -c %Y "$T/stamp")" ] ||
  fail "the swap changed inode, size or mtime"
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$idb" ] || fail "same-size rewrite with mtime put back: got $(cat "$T/out"), want $idb"
ok "same-size in-place rewrite with its mtime put back: read and verified again ($idb)"

# The same swap with garbage: refused, not served from the cache.
age
expect_status 0 F fetch "$T/app.aci"  # B recorded
touch -r "$T/app.aci" "$T/stamp"
head -c "$(stat -c %s "$T/app.aci")" /dev/urandom | dd of="$T/app.aci" conv=notrunc status=none
touch -r "$T/stamp" "$T/app.aci"
expect_status 254 F fetch "$T/app.aci"
ok "same-size garbage with its mtime put back: refused ($(head -c 80 "$T/err"))"

# Renamed over: another file with the recorded size and times takes the path.
cp "$T/a.aci" "$T/app.aci"
age
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$ida" ] || fail "A again: $(cat "$T/out")"
cp "$T/b.aci" "$T/new.aci"
touch -r "$T/app.aci" "$T/new.aci"
mv "$T/new.aci" "$T/app.aci"
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$idb" ] || fail "renamed over: got $(cat "$T/out"), want $idb"
ok "a file renamed over the path is read and verified ($idb)"

# An image removed from the store is fetched again from the file, not taken from the cache.
age
expect_status 0 F fetch "$T/app.aci"
expect_status 0 F image rm "$idb"
expect_status 0 F fetch "$T/app.aci"
[ "$(cat "$T/out")" = "$idb" ] || fail "after rm: $(cat "$T/out")"
expect_status 0 F image list
grep -q "${idb:0:19}" "$T/out" || fail "after rm: the image is not in the store again"
ok "a removed image is fetched from the file again"

# With signature checks nothing is taken from the cache: an unsigned file is refused.
expect_status 254 "$FERRY" --dir "$D" fetch "$T/app.aci"
grep -q 'no signature' "$T/err" || fail "signed fetch: $(cat "$T/err")"
ok "without --insecure-options=image the cache is not consulted"
