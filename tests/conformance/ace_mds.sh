#!/usr/bin/env bash
# The ACE validator's four phases against ferry's metadata service, with the pod built by hand:
# a network namespace (unshare -n) registered with `ferry metadata-service` by mds_register (the
# stage1's client code), a private mount namespace with a chroot holding the validator, /proc
# and the "database" volume at /db. Phases run as an executor runs them: prestart, then main and
# sidekick side by side (they meet through /db), then poststop. Each must print "<phase> OK".
#
# This isolates the metadata service's part of the validator (main's ValidateMetadataSvc reads
# the pod manifest, uuid, annotations, every app's image manifest and id, then signs and
# verifies) from `ferry run`, which ace.sh covers end to end.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../functional/lib.sh"
. "$here/../functional/services/lib.sh"
: "${ACE_DIR:?ACE_DIR must hold what build-ace.sh made}"
: "${MDS_REGISTER:?MDS_REGISTER must point to the mds_register test tool}"
[ "$(id -u)" = 0 ] || skip "needs root for network and mount namespaces"
unshare -n -m true 2>/dev/null || skip "cannot create network and mount namespaces here"

svc_mds
ok "metadata service listening on $MDS_SOCKET"

# The pod directory a stage0 would write: the pod manifest and each app's image manifest.
pod=$T/pod
main_id=$(aci_id "$ACE_DIR/ace-validator-main.aci")
side_id=$(aci_id "$ACE_DIR/ace-validator-sidekick.aci")
mkdir -p "$pod/apps/ace-validator-main" "$pod/apps/ace-validator-sidekick"
actool cat-manifest "$ACE_DIR/ace-validator-main.aci" >"$pod/apps/ace-validator-main/manifest"
actool cat-manifest "$ACE_DIR/ace-validator-sidekick.aci" \
  >"$pod/apps/ace-validator-sidekick/manifest"
python3 - "$pod" "$main_id" "$side_id" <<'EOF'
import json, sys
pod, ids = sys.argv[1], {"ace-validator-main": sys.argv[2], "ace-validator-sidekick": sys.argv[3]}
apps = []
for name, id in ids.items():
    im = json.load(open("%s/apps/%s/manifest" % (pod, name)))
    apps.append({"name": name,
                 "image": {"name": im["name"], "id": id, "labels": im["labels"]},
                 "app": im["app"],
                 "mounts": [{"volume": "database", "path": "/db"}],
                 "annotations": [{"name": "pod-says", "value": name}]})
manifest = {"acVersion": "0.8.11", "acKind": "PodManifest", "apps": apps,
            "volumes": [{"name": "database", "kind": "empty"}],
            "annotations": [{"name": "ferry.test/pod", "value": "ace"}]}
json.dump(manifest, open(pod + "/pod", "w"))
EOF
uuid=$(cat /proc/sys/kernel/random/uuid)
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

root=$T/root
mkdir -p "$root/opt/acvalidator" "$root/db" "$root/proc"
cp "$ACE_DIR/ace-validator" "$root/ace-validator"

cat >"$T/phases.sh" <<'EOF'
# Runs inside the pod's network namespace (registered) and a private mount namespace.
set -u
root=$1
mount -t proc proc "$root/proc"
mount --bind "$root/db" "$root/db"
phase() { # APP MODE: the validator as an executor would start it
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    AC_APP_NAME="$1" AC_METADATA_URL="$AC_METADATA_URL" IN_ACE_VALIDATOR=correct container=ferry \
    /usr/bin/unshare --root="$root" --wd=/opt/acvalidator /ace-validator "$2"
}
status=0
phase ace-validator-main prestart || status=1
phase ace-validator-sidekick sidekick &
side=$!
phase ace-validator-main main || status=1
wait "$side" || status=1
phase ace-validator-main poststop || status=1
exit $status
EOF
set +e
unshare -n -m --propagation private bash -c 'ip link set lo up && exec "$@"' pod \
  "$MDS_REGISTER" --socket "$MDS_SOCKET" --pod-dir "$pod" --uuid "$uuid" --token "$token" \
  --port 2375 -- bash "$T/phases.sh" "$root" >"$T/out" 2>"$T/err"
status=$?
set -e
show() {
  echo "--- validator stdout" >&2; cat "$T/out" >&2
  echo "--- validator stderr" >&2; cat "$T/err" >&2
  echo "--- metadata service log" >&2; tail -30 "$MDS_LOG" >&2
}
for phase in prestart main sidekick poststop; do
  grep -qx "$phase OK" "$T/out" || { show; fail "no '$phase OK' from the validator"; }
  ok "validator: $phase OK"
done
[ $status -eq 0 ] || { show; fail "the phases exited $status"; }
ok "every phase exited 0; unregistering closed the pod's port"
n=$(grep -c "GET /$token/acMetadata/v1/\|POST /$token/acMetadata/v1/" "$MDS_LOG" || true)
[ "$n" -ge 10 ] || { show; fail "the validator made only $n requests to the service"; }
if grep "/$token/" "$MDS_LOG" | grep -qv " 200$"; then show; fail "a request was not answered 200"; fi
ok "the validator's $n metadata requests were all answered 200"
echo "$checks passed, 0 failed"
