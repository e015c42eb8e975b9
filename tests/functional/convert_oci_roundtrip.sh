#!/usr/bin/env bash
# OCI (written by umoci, two layers with whiteouts) → ACI → OCI, judged by peers.
source "$(dirname "$0")/lib.sh"

src=$FIXTURES/oci
umoci unpack --image "$src:v2" "$T/orig" >/dev/null
[ ! -e "$T/orig/rootfs/bin/false" ] || fail "fixture: the whiteout did not apply in umoci"

expect_status 0 "$FERRY" --format=json image convert --name example.com/ferry/umoci "oci:$src:v2" "$T/v2.aci"
cp "$T/out" "$T/to-aci.json"
actool validate "$T/v2.aci" >/dev/null || fail "actool rejects the ACI we wrote"
ok "actool validate"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/to-aci.json")
[ "$id" = "$(aci_id "$T/v2.aci")" ] || fail "reported ID is not the sha512 of the tar"
ok "image ID is the sha512 of the uncompressed tar"
extract_aci_rootfs "$T/v2.aci" "$T/aci"
same_tree "$T/orig/rootfs" "$T/aci/rootfs" "umoci-unpacked OCI vs ACI rootfs (layers flattened)"

actool cat-manifest "$T/v2.aci" >"$T/m.json"
python3 - "$T/m.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["name"] == "example.com/ferry/umoci", m["name"]
labels = {l["name"]: l["value"] for l in m["labels"]}
assert labels["version"] == "v2" and labels["os"] == "linux" and labels["arch"] == "amd64", labels
app = m["app"]
assert app["exec"] == ["/bin/sh", "-c", "echo hi; id"], app["exec"]
assert (app["user"], app["group"]) == ("app", "1000"), (app["user"], app["group"])
env = {e["name"]: e["value"] for e in app["environment"]}
assert env["GREETING"] == "hello", env
assert app["workingDirectory"] == "/opt/work"
assert [mp["path"] for mp in app["mountPoints"]] == ["/var/lib/data"], app["mountPoints"]
ports = sorted((p["protocol"], p["port"]) for p in app["ports"])
assert ports == [("tcp", 8080), ("udp", 53)], ports
ann = {a["name"]: a["value"] for a in m["annotations"]}
assert ann["com.example.team"] == "runtime", ann
PY
ok "OCI config mapped to the appc manifest"

expect_status 0 "$FERRY" --format=json image convert "$T/v2.aci" "oci:$T/back:v2"
cp "$T/out" "$T/to-oci.json"
check_oci_layout "$T/back" v2
umoci unpack --image "$T/back:v2" "$T/back-bundle" >/dev/null
same_tree "$T/orig/rootfs" "$T/back-bundle/rootfs" "OCI → ACI → OCI rootfs"
# The ACI name and version come back as ferry labels (the identity the ACI gave the image).
skopeo inspect --config "oci:$src:v2" >"$T/c1.json"
skopeo inspect --config "oci:$T/back:v2" >"$T/c2.json"
python3 "$TOOLS/jsondiff.py" "$T/c1.json" "$T/c2.json" --report "$T/to-aci.json" \
  --report "$T/to-oci.json" --ignore rootfs --ignore config.Labels.dev.ferry.appc.name \
  --ignore config.Labels.dev.ferry.appc.labels || fail "config changed beyond the loss report"
ok "image config survives the round trip (except reported losses and the flattened layers)"
echo "$checks passed, 0 failed"
