#!/usr/bin/env bash
# appc dependencies rendered from local ACIs in spec order (the image's own files win, a later
# dependency wins over an earlier one, each followed by its own dependencies) with
# pathWhitelist; cycles and missing dependencies are clear errors. The layer is read back by
# umoci (a peer).
source "$(dirname "$0")/lib.sh"

mkaci() { # NAME MANIFEST FILES... (FILES as path=content; written under rootfs)
  local name=$1 manifest=$2 d=$T/src/$1
  shift 2
  mkdir -p "$d/rootfs"
  printf '%s' "$manifest" >"$d/manifest"
  for spec in "$@"; do
    mkdir -p "$(dirname "$d/rootfs/${spec%%=*}")"
    printf '%s' "${spec#*=}" >"$d/rootfs/${spec%%=*}"
  done
  tar -C "$d" -czf "$T/deps/$name.aci" manifest rootfs
}
man() { # NAME [DEPS-JSON] [WHITELIST-JSON]
  printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/%s","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]%s%s}' \
    "$1" "${2:+,\"dependencies\":$2}" "${3:+,\"pathWhitelist\":$3}"
}
dep() { printf '{"imageName":"example.com/%s","labels":[{"name":"version","value":"1"}]}' "$1"; }

mkdir -p "$T/deps"
# base1 ← base2 (later dependency wins) ← app; base2 depends on lib.
mkaci lib "$(man lib)" etc/lib.conf=lib usr/lib/liba=lib-a shared=from-lib
mkaci base1 "$(man base1)" etc/os-release=base1 shared=from-base1 only1=base1
mkaci base2 "$(man base2 "[$(dep lib)]")" etc/os-release=base2 only2=base2
mkaci app "$(man app "[$(dep base1),$(dep base2)]")" app/bin=app etc/os-release=app

expect_status 0 "$FERRY" --format=json image convert --dependency-dir "$T/deps" "$T/deps/app.aci" "oci:$T/l:app"
grep -q '"field": "dependencies"' "$T/out" || fail "the report does not mention the rendered dependencies"
umoci unpack --image "$T/l:app" "$T/b" >/dev/null
r=$T/b/rootfs
check() { [ "$(cat "$r/$1" 2>/dev/null)" = "$2" ] || fail "$1 is '$(cat "$r/$1" 2>/dev/null)', want '$2'"; }
check etc/os-release app      # the image's own file wins
check app/bin app
check only1 base1
check only2 base2
check etc/lib.conf lib        # a dependency's dependency
check usr/lib/liba lib-a
check shared from-lib         # base2 (and its dependency lib) come after base1, so they win
ok "dependencies rendered in spec order"

# pathWhitelist: only listed files survive (directories of the image itself are kept).
mkaci wl "$(man wl "[$(dep base1),$(dep base2)]" '["/app/bin","/only1","/etc/lib.conf"]')" app/bin=wl app/extra=dropped
expect_status 0 "$FERRY" image convert --dependency-dir "$T/deps" "$T/deps/wl.aci" "oci:$T/l:wl"
rm -rf "$T/b"
umoci unpack --image "$T/l:wl" "$T/b" >/dev/null
check app/bin wl
check only1 base1
check etc/lib.conf lib
for gone in app/extra only2 etc/os-release shared usr/lib/liba; do
  [ ! -e "$r/$gone" ] || fail "$gone survived the whitelist"
done
ok "pathWhitelist applied"

# Errors: a missing dependency, a cycle.
mkaci lonely "$(man lonely "[$(dep nowhere)]")" x=1
expect_status 254 "$FERRY" image convert --dependency-dir "$T/deps" "$T/deps/lonely.aci" "oci:$T/l2:x"
grep -q 'dependency "example.com/nowhere"' "$T/err" || fail "missing dependency message: $(cat "$T/err")"
[ ! -e "$T/l2" ] || fail "failed convert left a layout"
ok "missing dependency: $(cat "$T/err")"
mkdir -p "$T/cyc"
mv "$T/deps" "$T/deps-ok"
mkdir -p "$T/deps"
mkaci ca "$(man ca "[$(dep cb)]")" a=1
mkaci cb "$(man cb "[$(dep ca)]")" b=1
expect_status 254 "$FERRY" image convert --dependency-dir "$T/deps" "$T/deps/ca.aci" "oci:$T/l3:x"
grep -q 'dependency cycle' "$T/err" || fail "cycle message: $(cat "$T/err")"
ok "dependency cycle: $(cat "$T/err")"
echo "$checks passed, 0 failed"
