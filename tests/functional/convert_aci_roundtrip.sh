#!/usr/bin/env bash
# ACI → OCI → ACI with peers judging each step: oci-image-tool, skopeo and umoci read the OCI
# layout; actool validates the ACI; GNU tar extracts the rootfs trees that are compared.
source "$(dirname "$0")/lib.sh"

roundtrip() { # NAME ACI FULL
  local name=$1 aci=$2 full=$3 d=$T/$1
  mkdir -p "$d"
  expect_status 0 "$FERRY" --format=json image convert "$aci" "oci:$d/layout:img"
  cp "$T/out" "$d/to-oci.json"
  check_oci_layout "$d/layout" img
  umoci unpack --image "$d/layout:img" "$d/bundle" >/dev/null 2>"$d/umoci.err" ||
    { cat "$d/umoci.err" >&2; fail "$name: umoci cannot unpack our layout"; }
  extract_aci_rootfs "$aci" "$d/orig"
  same_tree "$d/orig/rootfs" "$d/bundle/rootfs" "$name: ACI rootfs vs umoci-unpacked OCI"
  [ "$full" = full ] || return 0

  expect_status 0 "$FERRY" --format=json image convert "oci:$d/layout:img" "$d/back.aci"
  cp "$T/out" "$d/to-aci.json"
  actool validate "$d/back.aci" >/dev/null || fail "$name: actool rejects the ACI we wrote"
  ok "$name: actool validate"
  local id
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$d/to-aci.json")
  [ "$id" = "$(aci_id "$d/back.aci")" ] || fail "$name: reported ID $id is not the sha512 of the tar"
  ok "$name: image ID is the sha512 of the uncompressed tar"
  extract_aci_rootfs "$d/back.aci" "$d/back"
  same_tree "$d/orig/rootfs" "$d/back/rootfs" "$name: ACI → OCI → ACI rootfs"
  actool cat-manifest "$aci" >"$d/m1.json"
  actool cat-manifest "$d/back.aci" >"$d/m2.json"
  python3 "$TOOLS/jsondiff.py" "$d/m1.json" "$d/m2.json" --report "$d/to-oci.json" \
    --report "$d/to-aci.json" || fail "$name: manifest changed beyond the loss report"
  ok "$name: manifest survives the round trip (except reported losses)"
}

roundtrip rich "$FIXTURES/rich.aci" full
roundtrip actool "$FIXTURES/bb.aci" full
for c in xz bz2 zst plain; do roundtrip "rich-$c" "$FIXTURES/rich-$c.aci" partial; done

# Every appc-only field of the rich image is in the report, as an annotation.
for f in app.eventHandlers app.isolators app.supplementaryGIDs app.ports app.mountPoints; do
  python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["losses"]
assert any(l["field"].startswith(sys.argv[2]) for l in r), sys.argv[2]' "$T/rich/to-oci.json" "$f" ||
    fail "the ACI → OCI report does not mention $f"
done
ok "ACI → OCI report lists the appc-only fields"
echo "$checks passed, 0 failed"
