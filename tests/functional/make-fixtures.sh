#!/usr/bin/env bash
# Builds the images the functional tests share, with peers' writers, into OUTDIR:
#   bb.aci          busybox ACI written by the appc project's actool
#   rich.aci        an ACI written by GNU tar (pax, xattrs, nsec mtimes) with every kind of
#                   file metadata and every appc manifest feature; also .xz .bz2 .zst and
#                   uncompressed variants
#   oci/            an oci-layout written by umoci: tag "v1" (one layer) and "v2" (two layers,
#                   with deletions as whiteouts and a replaced directory)
set -euo pipefail
out=${1:?usage: make-fixtures.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "$out/.work-XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- a rich rootfs ---------------------------------------------------------------------------
r=$work/rich/rootfs
mkdir -p "$r"/{bin,etc,home/app,tmp,var/lib/data,opt/work,usr/share/doc/ferry,empty}
cp /bin/busybox "$r/bin/busybox"
for a in sh ls cat echo id true false sleep env; do ln -s busybox "$r/bin/$a"; done
cat > "$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app user:/home/app:/bin/sh
P
cat > "$r/etc/group" <<'G'
root:x:0:
daemon:x:1:
app:x:1000:
staff:x:50:app
G
echo "hello from ferry" > "$r/usr/share/doc/ferry/README"
ln "$r/usr/share/doc/ferry/README" "$r/usr/share/doc/ferry/README.hardlink"
ln -s /usr/share/doc/ferry/README "$r/usr/share/doc/ferry/README.abs-symlink"
ln -s ../../../bin/busybox "$r/usr/share/doc/ferry/busybox.rel-symlink"
printf '#!/bin/sh\necho suid\n' > "$r/bin/suid-tool"
chmod 4755 "$r/bin/suid-tool"
printf 'x' > "$r/bin/sgid-tool"
chmod 2711 "$r/bin/sgid-tool"
chmod 1777 "$r/tmp"
chown -R 1000:1000 "$r/home/app"
echo "owned by app" > "$r/home/app/notes"
chown 1000:50 "$r/home/app/notes"
chmod 0640 "$r/home/app/notes"
: > "$r/opt/work/empty-file"
mkfifo "$r/opt/work/fifo"
echo "spaces" > "$r/opt/work/name with spaces"
echo "unicode" > "$r/opt/work/ünïcødé"
long="$r/opt/$(printf 'd%.0s' {1..60})/$(printf 'e%.0s' {1..60})"
mkdir -p "$long"
echo "long" > "$long/$(printf 'f%.0s' {1..80}).txt"
setfattr -n user.ferry.note -v "kept" "$r/usr/share/doc/ferry/README"
setfattr -n user.ferry.bin -v 0x00ff10 "$r/bin/suid-tool"
touch -d '2001-02-03 04:05:06.123456789' "$r/opt/work/empty-file"
touch -h -d '2002-03-04 05:06:07.5' "$r/usr/share/doc/ferry/README.abs-symlink"
find "$r" -depth -type d -exec touch -d '2020-01-01 00:00:00.25' {} +

cat > "$work/rich/manifest" <<'M'
{
  "acKind": "ImageManifest",
  "acVersion": "0.8.11",
  "name": "example.com/ferry/rich",
  "labels": [
    {"name": "version", "value": "1.2.3"},
    {"name": "os", "value": "linux"},
    {"name": "arch", "value": "amd64"},
    {"name": "channel", "value": "stable"}
  ],
  "app": {
    "exec": ["/bin/sh", "-c", "echo hello; id"],
    "user": "app",
    "group": "staff",
    "supplementaryGIDs": [1, 1000],
    "eventHandlers": [
      {"name": "pre-start", "exec": ["/bin/echo", "starting"]},
      {"name": "post-stop", "exec": ["/bin/echo", "stopped"]}
    ],
    "workingDirectory": "/opt/work",
    "environment": [
      {"name": "GREETING", "value": "hello world"},
      {"name": "PATH", "value": "/bin:/usr/bin"}
    ],
    "isolators": [
      {"name": "resource/memory", "value": {"request": "64Mi", "limit": "128Mi"}},
      {"name": "resource/cpu", "value": {"request": "250m", "limit": "500m"}},
      {"name": "os/linux/capabilities-retain-set", "value": {"set": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]}},
      {"name": "os/linux/no-new-privileges", "value": true}
    ],
    "mountPoints": [
      {"name": "data", "path": "/var/lib/data", "readOnly": false},
      {"name": "config", "path": "/etc/ferry", "readOnly": true}
    ],
    "ports": [
      {"name": "http", "protocol": "tcp", "port": 8080},
      {"name": "range", "protocol": "udp", "port": 9000, "count": 3, "socketActivated": false}
    ]
  },
  "annotations": [
    {"name": "authors", "value": "Ferry Developers <dev@ferry.invalid>"},
    {"name": "created", "value": "2024-05-06T07:08:09Z"},
    {"name": "homepage", "value": "https://ferry.invalid"},
    {"name": "com.example.team", "value": "runtime"}
  ]
}
M
touch -d '2020-01-01 00:00:00' "$work/rich/manifest"
tar_pax() { # tar_pax DIR OUT COMPRESS-FLAG
  tar -C "$1" --format=pax --xattrs --xattrs-include='*' --numeric-owner --sort=name \
    --pax-option=delete=atime,delete=ctime $3 -cf "$2" manifest rootfs
}
tar_pax "$work/rich" "$out/rich.aci" --gzip
tar_pax "$work/rich" "$out/rich-xz.aci" --xz
tar_pax "$work/rich" "$out/rich-bz2.aci" --bzip2
tar_pax "$work/rich" "$out/rich-zst.aci" --zstd
tar_pax "$work/rich" "$out/rich-plain.aci" ""
cp -a "$work/rich/rootfs" "$out/rich-rootfs"

# --- busybox by actool -----------------------------------------------------------------------
b=$work/bb
mkdir -p "$b/rootfs/bin"
cp /bin/busybox "$b/rootfs/bin/busybox"
ln -s busybox "$b/rootfs/bin/sh"
cat > "$b/manifest" <<'M'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/busybox","labels":[{"name":"version","value":"1.36"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":{"exec":["/bin/sh","-c","echo hi"],"user":"0","group":"0"}}
M
actool build --overwrite "$b" "$out/bb.aci"

# --- an OCI layout by umoci ------------------------------------------------------------------
o=$out/oci
umoci init --layout "$o"
umoci new --image "$o:v1"
umoci unpack --image "$o:v1" "$work/bundle" >/dev/null
cp -a "$r/." "$work/bundle/rootfs/"
umoci repack --image "$o:v1" "$work/bundle"
umoci config --image "$o:v1" --config.entrypoint /bin/sh --config.cmd -c --config.cmd 'echo hi; id' \
  --config.user app --config.env GREETING=hello --config.env PATH=/bin:/usr/bin \
  --config.workingdir /opt/work --config.volume /var/lib/data --config.exposedports 8080/tcp \
  --config.exposedports 53/udp --config.label com.example.team=runtime \
  --config.label Maintainer=someone --config.stopsignal SIGINT --author "Ferry Developers" \
  --architecture amd64 --os linux
rm -rf "$work/bundle"
umoci unpack --image "$o:v1" "$work/bundle" >/dev/null
rm "$work/bundle/rootfs/bin/false" "$work/bundle/rootfs/usr/share/doc/ferry/README.abs-symlink"
rm -rf "$work/bundle/rootfs/opt/work"
mkdir "$work/bundle/rootfs/opt/work"
echo "second layer" > "$work/bundle/rootfs/opt/work/new-file"
echo "changed" > "$work/bundle/rootfs/etc/motd"
umoci repack --image "$o:v2" "$work/bundle"
echo "fixtures: $(ls "$out" | tr '\n' ' ')"
