#!/bin/bash
# Packs an assembled stage1 directory as an ACI (appc image format): the stage1 directory is the
# image's rootfs (stage1.json at its top), the manifest names it ferry.dev/stage1-FLAVOR with
# ferry's version, os and arch. Entries are root's, sorted, with a fixed time, and the binaries
# lose their debug sections, so the same build gives the same image ID.
#   pack-aci.sh FLAVOR STAGE1_DIR OUT.aci VERSION ARCH
set -euo pipefail
flavor=$1 dir=$2 out=$3 version=$4 arch=$5
stage=$(mktemp -d "${out}.tmp-XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -a "$dir" "$stage/rootfs"
find "$stage/rootfs" -type f -perm -u+x -exec strip --strip-debug {} +
chmod -R go-w "$stage/rootfs"
printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"ferry.dev/stage1-%s","labels":[{"name":"version","value":"%s"},{"name":"os","value":"linux"},{"name":"arch","value":"%s"}]}\n' \
  "$flavor" "$version" "$arch" >"$stage/manifest"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
  -cf - manifest rootfs | gzip -n -1 >"$stage/image.aci"
mv -f "$stage/image.aci" "$out"
