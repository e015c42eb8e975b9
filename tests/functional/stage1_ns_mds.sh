#!/usr/bin/env bash
# The ns stage1 registers a pod with `ferry metadata-service` (stage1/ABI.md §6): the app reaches
# the service on its own loopback at AC_METADATA_URL; the registration ends with the pod.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"
source "$(dirname "$0")/services/lib.sh"
trap 'svc_stop_all; cleanup_ns' EXIT

command -v svc_mds >/dev/null || skip "the services harness has no metadata service"
svc_mds
make_tree "$T/tree"
port=$(svc_free_port)
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
P=$T/pod
new_pod "$P" --mds "$MDS_SOCKET,$token,$port" --app a --tree "$T/tree" \
  --exec '["sh","-c","wget -qO- $AC_METADATA_URL/acMetadata/v1/pod/uuid; echo; wget -qO- $AC_METADATA_URL/acMetadata/v1/apps/a/image/manifest"]'
run_pod "$P" || { cat "$P.err" "$P/logs/a.log" >&2; fail "pod with metadata service failed"; }
grep -qx "$(pod_uuid "$P")" "$P/logs/a.log" || { cat "$P/logs/a.log" >&2; fail "the app did not read its pod's UUID"; }
grep -q '"example.com/a"' "$P/logs/a.log" || fail "the app did not read its image manifest"
ok "the app reaches the metadata service on its own loopback"
grep -q "unregistered pod" "$MDS_LOG" || { tail "$MDS_LOG" >&2; fail "the pod did not unregister when it ended"; }
ok "the pod unregistered when it ended"
expect_clean "$P" "registered pod"

# No service behind the socket: the stage1 fails the pod with 254 and one line.
Q=$T/bad
new_pod "$Q" --mds "$T/no-such.sock,$token,$port" --app a --tree "$T/tree" --exec '["true"]'
expect_status 254 run_pod "$Q"
grep -q 'no-such.sock' "$Q.err" || fail "unreachable service: $(cat "$Q.err")"
ok "an unreachable metadata service fails the pod: $(cat "$Q.err")"
expect_clean "$Q" "refused pod"
