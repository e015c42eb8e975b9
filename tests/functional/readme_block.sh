#!/usr/bin/env bash
# The README's "Using ferry" block, run as it is written: the test extracts it from README.md
# and runs it under `bash -e -o pipefail` in a scratch directory, where `ferry` is the built
# binary with a scratch --dir and configuration directories of the test's own. The names the
# block uses are served by local servers in the test's own network and mount namespaces
# (services/netns.sh): https://example.com (nginx: appc discovery, the signed app.aci, key.asc)
# and Docker Hub (registry-1.docker.io: nginx in front of a docker-registry holding
# library/alpine:3.19). /tmp, /run/ferry and /var/lib/cni are fresh tmpfs mounts in that mount
# namespace, so the block's paths and its pods' networks touch nothing of the host's. The test
# provides what the README says the reader has (app.aci, app.aci.asc, key.asc, a net.d network
# "mynet"); any command of the block that fails fails the test.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/netns.sh"
# The block writes under /tmp; ferry's metadata service under /run/ferry; CNI's host-local IPAM
# under /var/lib/cni. Each a tmpfs of this mount namespace only (gone with the test).
mkdir -p /run/ferry /var/lib/cni
mount -t tmpfs -o mode=1777 ferry-readme /tmp
mount -t tmpfs -o mode=0755 ferry-readme /run/ferry
mount -t tmpfs -o mode=0755 ferry-readme /var/lib/cni
. "$here/lib.sh"
. "$here/pods_lib.sh"
pods_test_setup
. "$here/services/lib.sh"
svc_require
[ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/portmap ] && [ -x /usr/lib/cni/host-local ] ||
  skip "the CNI plugins are not installed (containernetworking-plugins, dist/setup)"
command -v iptables >/dev/null || skip "iptables is not installed (dist/setup)"
[ "$(uname -m)" = x86_64 ] || skip "the README's app.aci here is built for amd64"
IMAGES=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1-images
[ -f "$IMAGES/stage1-ns.aci" ] || skip "the ns stage1 image is not built ($IMAGES)"
README=$here/../../README.md

# --- The servers: Docker Hub (a registry behind nginx), example.com (nginx).
svc_hosts example.com registry-1.docker.io
svc_registry plain
svc_push "oci:$FIXTURES/oci:v1" library/alpine:3.19 >/dev/null 2>"$T/push.err" ||
  { cat "$T/push.err" >&2; fail "skopeo push"; }
mkdir -p "$T/nginx/conf.d"
cat >"$T/nginx/conf.d/hub.conf" <<EOF
location /v2/ { proxy_pass http://$REGISTRY_HOST; proxy_set_header Host \$host; }
EOF
CA_SERVER_NAMES="example.com registry-1.docker.io" NGINX_HTTPS_PORT=443 NGINX_HTTP_PORT=80 \
  svc_nginx "$T/nginx"
export SSL_CERT_FILE=$CA_DIR/ca.crt
GPG_ALGO=ed25519 svc_gpg alice "$T/gpg"

# --- What the reader has: app.aci (example.com/app 1.0, busybox), signed; key.asc.
W=$T/work
mkdir -p "$W" "$T/app/rootfs/bin" "$T/app/rootfs/etc"
cp /bin/busybox "$T/app/rootfs/bin/busybox"
for a in sh echo true sleep ps cat id; do ln -s busybox "$T/app/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/app/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$T/app/rootfs/etc/group"
cat >"$T/app/manifest" <<'JSON'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app",
 "labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"},
  {"name":"arch","value":"amd64"},{"name":"channel","value":"stable"}],
 "app":{"exec":["/bin/sh","-c","echo hello from app"],"user":"0","group":"0",
  "ports":[{"name":"http","protocol":"tcp","port":80}]}}
JSON
tar -C "$T/app" --numeric-owner -czf "$W/app.aci" manifest rootfs
"$SERVICES/gpg.sh" sign "$GPG_HOME" "$W/app.aci" >/dev/null
cp "$GPG_PUBKEY" "$W/key.asc"
# example.com: the key, the ACI at its URL and through discovery (the host's root page).
cp "$W/key.asc" "$W/app.aci" "$W/app.aci.asc" "$NGINX_WWW/"
mkdir -p "$NGINX_WWW/example.com"
cp "$W/app.aci" "$NGINX_WWW/example.com/app-1.0-linux-amd64.aci"
cp "$W/app.aci.asc" "$NGINX_WWW/example.com/app-1.0-linux-amd64.aci.asc"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" "" \
  '<meta name="ac-discovery" content="example.com https://example.com/{name}-{version}-{os}-{arch}.{ext}">' \
  '<meta name="ac-discovery-pubkeys" content="example.com https://example.com/key.asc">' >/dev/null
# The reader's configuration: the network "mynet" (--net=mynet:IP=10.1.0.5) in net.d.
mkdir -p "$D/net.d" "$T/etc-ferry" "$T/lib-ferry"
printf '%s\n' '{"cniVersion":"0.4.0","name":"mynet","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.1.0.0/24"}}' \
  >"$D/net.d/10-mynet.conf"
export FERRY_NET_CONFIG_DIR=$T/no-system-net.d

# `ferry` for the block: the built binary on a scratch --dir and configuration of the test's.
mkdir -p "$T/bin"
cat >"$T/bin/ferry" <<EOF
#!/bin/sh
exec $(printf %q "$FERRY") --dir=$(printf %q "$D") --system-config=$(printf %q "$T/lib-ferry") \
  --local-config=$(printf %q "$T/etc-ferry") --user-config= "\$@"
EOF
chmod 0755 "$T/bin/ferry"

# --- The block, verbatim.
python3 - "$README" >"$T/block.sh" <<'PY'
import sys
text = open(sys.argv[1]).read()
print(text.split("## Using ferry", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0], end="")
PY
[ "$(grep -c '^ferry ' "$T/block.sh")" -ge 40 ] ||
  fail "the README's Using ferry block has only $(grep -c '^ferry ' "$T/block.sh") ferry lines"
{
  echo 'set -euo pipefail'
  cat "$T/block.sh"
  # What the block leaves running (the metadata service) is stopped, and waited for.
  echo 'kill $(jobs -p) 2>/dev/null || true; wait'
} >"$T/run.sh"
start=$(date +%s)
if ! (cd "$W" && PATH=$T/bin:$PATH bash -x "$T/run.sh" </dev/null >"$T/out" 2>"$T/err"); then
  tail -30 "$T/err" >&2
  fail "the README's Using ferry block failed (last command: $(grep '^+ ' "$T/err" | tail -1))"
fi
ok "the README's Using ferry block ran as written: $(grep -c '^ferry ' "$T/block.sh") lines, $(($(date +%s) - start)) s"

# A few of its results, so that "ran" means "did what it says".
grep -q '^hello from app' "$T/out" || fail "no pod said hello: $(head -20 "$T/out")"
[ -s "$W/copy.aci" ] && cmp -s "$W/copy.aci" "$W/app.aci" || fail "image export is not the ACI as fetched"
[ -s "$W/out.aci" ] && [ -s "$W/app2.aci" ] && [ -f /tmp/layout/index.json ] || fail "no out.aci, app2.aci or layout"
"$FERRY" --dir "$D" image list >"$T/images"
grep -q 'docker://docker.io/library/alpine:3.19' "$T/images" || fail "docker://alpine:3.19 not in the store: $(cat "$T/images")"
ok "its pods ran, its exports and conversions are there, Docker Hub's alpine is in the store"
echo "$checks passed, 0 failed"
