#!/usr/bin/env bash
# Builds the appc ACE validator from Debian's golang-github-appc-spec-dev with golang-go, in
# GOPATH mode and without network, and packs the main and sidekick ACIs with actool:
#
#   build-ace.sh OUTDIR   →  OUTDIR/ace-validator, OUTDIR/ace-validator-{main,sidekick}.aci
#
# Each ACI is checked with `actool validate`. Idempotent: a second run reuses the Go build cache
# in OUTDIR/gocache. Exit 77 (skip) when go, the validator source or actool are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-ace.sh OUTDIR}
src=/usr/share/gocode/src/github.com/appc/spec/ace
for c in go actool; do
  command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (dist/setup)"; exit 77; }
done
[ -f "$src/validator.go" ] || { echo "SKIP: $src missing (golang-github-appc-spec-dev)"; exit 77; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-ace-XXXXXX")
trap 'rm -rf "$work"' EXIT

# GOPATH mode: the Debian source tree plus an empty first entry of our own; no module proxy.
export GO111MODULE=off GOPATH=$work/gopath:/usr/share/gocode GOCACHE=$out/gocache \
  GOPROXY=off GOFLAGS= CGO_ENABLED=0
mkdir -p "$work/gopath"
go build -trimpath -o "$work/ace-validator" github.com/appc/spec/ace
mv "$work/ace-validator" "$out/ace-validator"
echo "ok - built ace-validator with $(go version | cut -d' ' -f3) from $src"

version=$(actool version | awk '{print $NF}')
goos=$(go env GOOS)
goarch=$(go env GOARCH)
for typ in main sidekick; do
  layout=$work/ace-$typ-layout
  mkdir -p "$layout/rootfs/opt/acvalidator"
  cp "$out/ace-validator" "$layout/rootfs/ace-validator"
  sed -e "s/@VERSION@/$version/g" -e "s/@GOOS@/$goos/g" -e "s/@GOARCH@/$goarch/g" \
    "$here/ace/image_manifest_$typ.json.in" >"$layout/manifest"
  # Fixed times, so the same inputs make the same image ID (as upstream's build_aci does).
  find "$layout" -exec touch -h -d 1970-01-01T00:00:00Z {} +
  actool build --overwrite --owner-root "$layout" "$out/ace-validator-$typ.aci"
  actool validate "$out/ace-validator-$typ.aci" >/dev/null
  echo "ok - packed and validated ace-validator-$typ.aci (acVersion $version, $goos/$goarch)"
done
echo "3 passed, 0 failed"
