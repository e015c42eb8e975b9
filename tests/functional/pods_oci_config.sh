#!/usr/bin/env bash
# An OCI image's config at run, as OCI and Docker apply it, where appc cannot hold it: a name
# set twice in Env (the last value wins), names appc refuses (spring.profiles.active), the
# user's --environment over both; config fields ferry does not apply (Healthcheck) reported at
# run, those it does (Env, StopSignal) not; the pod manifest records the extra names, and
# --pod-manifest finds the OCI image by the appc ID cat-manifest gives it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup

# oci_config LAYOUT FROM TO FILTER: adds image TO to LAYOUT, FROM with its config edited by the
# jq FILTER (new config and manifest blobs, named by their sha256).
oci_config() {
  local l=$1 from=$2 to=$3 filter=$4 m c digest
  m=$(jq -r --arg t "$from" \
    '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$l/index.json")
  c=$(jq -r .config.digest "$l/blobs/sha256/${m#sha256:}")
  jq -c "$filter" "$l/blobs/sha256/${c#sha256:}" >"$T/config.json"
  digest=$(sha256sum "$T/config.json" | cut -d' ' -f1)
  cp "$T/config.json" "$l/blobs/sha256/$digest"
  jq -c --arg d "sha256:$digest" --argjson s "$(stat -c %s "$T/config.json")" \
    '.config.digest = $d | .config.size = $s' "$l/blobs/sha256/${m#sha256:}" >"$T/manifest.json"
  digest=$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
  cp "$T/manifest.json" "$l/blobs/sha256/$digest"
  jq --arg d "sha256:$digest" --argjson s "$(stat -c %s "$T/manifest.json")" --arg t "$to" \
    '.manifests += [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": $d,
      "size": $s, "annotations": {"org.opencontainers.image.ref.name": $t}}]' "$l/index.json" >"$T/index.json"
  mv "$T/index.json" "$l/index.json"
}

cp -a "$FIXTURES/oci" "$T/oci"
oci_config "$T/oci" v1 env '.config.Env += ["A=first", "B=b", "A=last", "spring.profiles.active=dev",
  "NOVALUE"] | .config.Healthcheck = {"Test": ["CMD", "true"], "Interval": 30000000000}'
# (a shell does not pass on names it cannot hold: the app's own environ shows what it was given)
show='echo "A=$A B=$B"; /bin/busybox tr "\\0" "\\n" </proc/$$/environ | /bin/busybox grep "^spring"; true'

expect_status 0 F run "oci:$T/oci:env" --name app -- -c "$show"
grep -qx 'A=last B=b' "$T/out" || fail "Env set twice: $(cat "$T/out")"
grep -qx 'spring.profiles.active=dev' "$T/out" || fail "a name appc refuses: $(cat "$T/out")"
grep -q 'config.Healthcheck.*ferry run does not apply it' "$T/err" ||
  fail "Healthcheck not reported: $(cat "$T/err")"
grep -q 'config.Env' "$T/err" && fail "Env reported although applied: $(cat "$T/err")"
ok "Env: the last value of a name wins, names appc refuses are set; Healthcheck reported as not applied"

expect_status 0 F run --uuid-file-save="$T/u" "oci:$T/oci:env" --name app --environment A=user -- -c "$show"
grep -qx 'A=user B=b' "$T/out" || fail "--environment over the image's Env: $(cat "$T/out")"
expect_status 0 F cat-manifest "$(cat "$T/u")"
jq -e '.apps[0].annotations[] | select(.name == "dev.ferry.environment") | .value | fromjson ==
  ["spring.profiles.active=dev"]' "$T/out" >/dev/null ||
  fail "pod manifest: $(jq -c '.apps[0].annotations' "$T/out")"
jq -e '[.apps[0].app.environment[] | select(.name == "A") | .value] == ["user"]' "$T/out" >/dev/null ||
  fail "pod manifest environment: $(jq -c '.apps[0].app.environment' "$T/out")"
ok "--environment wins over the image's Env; the pod manifest records the extra names"

# The record is the contract: the same manifest, run again, sets the same environment.
cp "$T/out" "$T/pm.json"
jq --arg c "$show" '.apps[0].app.exec = ["/bin/sh", "-c", $c]' "$T/pm.json" >"$T/pm2.json"
expect_status 0 F run --pod-manifest "$T/pm2.json"
grep -qx 'A=user B=b' "$T/out" && grep -qx 'spring.profiles.active=dev' "$T/out" ||
  fail "--pod-manifest: $(cat "$T/out")"
jq '.apps[0].annotations = [{"name": "dev.ferry.environment", "value": "[\"NOEQUALS\"]"}]' \
  "$T/pm2.json" >"$T/pm3.json"
expect_status 254 F run --pod-manifest "$T/pm3.json"
one_line "a bad dev.ferry.environment"
grep -q 'dev.ferry.environment' "$T/err" || fail "the error does not name the annotation: $(cat "$T/err")"
ok "--pod-manifest applies the recorded environment; a malformed one is refused in one line"
# /sys/fs/cgroup: the app's own cgroups, namespaced and read-only, where a JVM or the Go runtime
# looks for its limits (v1 files on a hybrid host, v2 ones on a cgroup2 host).
lim='cd /sys/fs/cgroup
if [ -d memory ]; then cat memory/memory.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max
else cat memory.max cpu.max pids.max; fi
echo "paths: $(/bin/busybox cut -d: -f3 /proc/self/cgroup | /bin/busybox sort -u | /bin/busybox tr "\n" " ")"
echo "below: $(/bin/busybox find . -mindepth 2 -type d | /bin/busybox wc -l)"
for f in memory/memory.limit_in_bytes memory.max pids/pids.max pids.max cgroup.procs; do
  [ -e $f ] && { (echo 1 >$f) 2>/dev/null && echo "wrote $f" || echo "refused $f"; }; done; true'
expect_status 0 F run "$OCI" --name app --memory 64Mi --cpu 500m --pids-limit 50 -- -c "$lim"
# (v1: one value a file; v2's cpu.max holds quota and period on one line)
tr '\n' ' ' <"$T/out" | grep -q '^67108864 50000 100000 50 ' || fail "the limits seen: $(cat "$T/out")"
grep -qx 'paths: / ' "$T/out" || fail "/proc/self/cgroup is not rooted at the app's cgroups: $(grep paths "$T/out")"
grep -qx 'below: 0' "$T/out" || fail "cgroups other than the app's are visible: $(grep below "$T/out")"
grep -q '^wrote' "$T/out" && fail "a cgroup file was writable: $(grep wrote "$T/out")"
grep -q '^refused' "$T/out" || fail "no cgroup file to try: $(cat "$T/out")"
ok "/sys/fs/cgroup shows the app's own limits (memory, cpu quota, pids), namespaced, read-only"
echo "pods_oci_config: $checks checks passed"
