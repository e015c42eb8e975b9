#!/usr/bin/env bash
# The pod lifecycle with a stage1 written in a few lines of shell (tests/stage1-shell): stage0
# talks to any stage1 through the ABI alone (stage1/ABI.md). prepare, run, run-prepared, list,
# status --wait, enter, stop, rm, gc (also after kill -9), cat-manifest, logs, exit statuses,
# usage errors, ACI and OCI images side by side.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
S1=$(cd "$(dirname "$0")/../stage1-shell" && pwd)
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }
BB=$FIXTURES/bb.aci
OCI=oci:$FIXTURES/oci:v1
R=(--stage1-path="$S1" --net=host)
bg_pids=()
cleanup() {
  stop_running_pods
  for p in "${bg_pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
state_of() { F status "$1" | sed -n 's/^state=//p'; }

# --- usage errors: 2
expect_status 2 F run
expect_status 2 F run --frobnicate "$BB"
expect_status 2 F run "${R[@]}" "$BB" --- 
expect_status 2 F run --net=no/such "$BB"
expect_status 2 F status
expect_status 2 F run "${R[@]}" --volume "x,kind=weird" "$BB"
expect_status 2 F run "${R[@]}" --seccomp "mode=maybe,mkdir" "$BB"
expect_status 2 F gc --grace-period=soon
ok "usage errors exit 2"

# --- a stage1 that is not one: 254, one clear line
mkdir -p "$T/bad-stage1" && echo '{"name":"bad","interfaceVersion":9,"entrypoints":{}}' >"$T/bad-stage1/stage1.json"
expect_status 254 F run --stage1-path="$T/bad-stage1" --net=host "$BB"
grep -q 'interfaceVersion' "$T/err" || fail "bad stage1: $(cat "$T/err")"
expect_status 254 F run --stage1-path="$S1" --net=default "$BB"
grep -q 'does not offer --net=default' "$T/err" || fail "feature check: $(cat "$T/err")"
ok "stage1.json checked (interface version, features asked)"

# --- run: output, exit status of the app
expect_status 0 F run "${R[@]}" "$BB"
grep -qx 'hi' "$T/out" || fail "run printed: $(cat "$T/out")"
expect_status 7 F run "${R[@]}" "$BB" --exec /bin/sh -- -c 'echo seven; exit 7'
grep -qx 'seven' "$T/out" || fail "run printed: $(cat "$T/out")"
ok "run: the app's output and exit status (7)"
expect_status 0 F run "${R[@]}" "$BB" --name one "$BB" --name two
grep -qx '\[one\] hi' "$T/out" && grep -qx '\[two\] hi' "$T/out" || fail "two images: $(cat "$T/out")"
ok "run IMAGE [flags] IMAGE [flags]: two apps without ---"

# --- two apps, appc and OCI side by side; the first failing app's status wins
expect_status 3 F run "${R[@]}" --uuid-file-save="$T/u-mixed" \
  "$BB" --name first --exec /bin/sh -- -c 'echo from-aci' \
  --- "$OCI" --name second -- -c 'echo from-oci; exit 3'
u=$(cat "$T/u-mixed")
grep -qx '\[first\] from-aci' "$T/out" || fail "mixed pod output: $(cat "$T/out")"
grep -qx '\[second\] from-oci' "$T/out" || fail "mixed pod output: $(cat "$T/out")"
expect_status 0 F logs --app second "$u"
grep -qx 'from-oci' "$T/out" || fail "logs --app: $(cat "$T/out")"
expect_status 0 F logs "$u"
grep -qx '\[first\] from-aci' "$T/out" || fail "logs: $(cat "$T/out")"
expect_status 0 F status "$u"
grep -qx 'app-first=0' "$T/out" && grep -qx 'app-second=3' "$T/out" && grep -qx 'exit=3' "$T/out" ||
  fail "status: $(cat "$T/out")"
expect_status 0 F cat-manifest "$u"
jq -e '.acKind == "PodManifest" and ([.apps[].name] == ["first","second"])
       and all(.apps[]; .image.id | test("^sha512-[0-9a-f]{128}$"))' "$T/out" >/dev/null ||
  fail "cat-manifest: $(cat "$T/out")"
# The OCI app's section came from the image config (user app, cwd /opt/work, its env).
jq -e '.apps[1].app.workingDirectory == "/opt/work"' "$T/out" >/dev/null || fail "OCI app section"
cfg=$(find "$D/pods" -path "*/$u/apps/second/config.json")
jq -e '.process.env | index("GREETING=hello") != null and index("AC_APP_NAME=second") != null
       and index("container=ferry") != null' "$cfg" >/dev/null || fail "config env: $(jq .process.env "$cfg")"
jq -e '.annotations["dev.ferry.user"] == "app" or .process.user.uid == 1000' "$cfg" >/dev/null ||
  fail "OCI user: $(jq .process.user "$cfg")"
ok "ACI + OCI pod: prefixed output, logs, status per app, cat-manifest, exit 3"

# --- prepare → list → run-prepared
expect_status 0 F prepare "${R[@]}" "$BB" --exec /bin/sh -- -c 'echo prepared-run; exit 5'
up=$(cat "$T/out")
[ -d "$D/pods/prepared/$up" ] || fail "prepared pod not in prepared/"
[ "$(state_of "$up")" = prepared ] || fail "state of a prepared pod: $(state_of "$up")"
expect_status 0 F list --no-legend
awk -v u="${up:0:8}" '$1 == u {print $2, $3, $4}' "$T/out" | grep -qx "busybox example.com/busybox:1.36 prepared" ||
  fail "list: $(cat "$T/out")"
expect_status 0 F list
head -1 "$T/out" | grep -q '^UUID' || fail "list has no legend"
expect_status 5 F run-prepared "$up"
grep -qx 'prepared-run' "$T/out" || fail "run-prepared output"
[ "$(state_of "$up")" = exited ] || fail "state after run-prepared: $(state_of "$up")"
expect_status 254 F run-prepared "$up"
expect_status 0 F --format=json list
jq -e --arg u "$up" '.[] | select(.name == $u) | .state == "exited" and .exitCode == 5
  and .apps[0].exitCode == 5 and .apps[0].startedAt != null' "$T/out" >/dev/null ||
  fail "list json: $(cat "$T/out")"
ok "prepare, list (text, json), run-prepared (exit 5), run-prepared twice refused"

# --- rm: O(1), the pod directory is gone
expect_status 0 F rm "$up"
[ -z "$(find "$D/pods" -maxdepth 2 -name "$up")" ] || fail "rm left the pod"
expect_status 254 F rm "$up"
ok "rm removes an exited pod; rm of an unknown pod is 254"

# --- a running pod: status --wait, enter, stop
set -m
F run "${R[@]}" --uuid-file-save="$T/u-long" "$BB" --exec /bin/sh -- -c 'echo started; exec /bin/busybox sleep 1000' \
  >"$T/long.out" 2>&1 &
bg_pids+=($!)
long_pid=$!
set +m
wait_for "the pod to start" test -s "$T/u-long"
ul=$(cat "$T/u-long")
wait_for "the pod to run" grep -q started "$T/long.out"
[ "$(state_of "$ul")" = running ] || fail "state: $(state_of "$ul")"
expect_status 254 F status --wait=100ms "$ul"
expect_status 0 F enter "$ul" /bin/sh -c 'echo entered $AC_APP_NAME'
grep -qx 'entered busybox' "$T/out" || fail "enter: $(cat "$T/out")"
expect_status 254 F rm "$ul"
grep -q 'running' "$T/err" || fail "rm of a running pod: $(cat "$T/err")"
expect_status 0 F stop "$ul"
expect_status 0 F status --wait "$ul"
grep -qx 'state=exited' "$T/out" && grep -qx 'app-busybox=signal:SIGTERM' "$T/out" ||
  fail "status after stop: $(cat "$T/out")"
set +e
wait "$long_pid"
rc=$?
set -e
[ "$rc" -eq 143 ] || fail "ferry run of a stopped pod exited $rc, want 143"
ok "status --wait, enter, rm refused while running, stop (ferry run exits 143)"

# --- kill -9 of everything: the pod is exited, gc collects it
set -m
F run "${R[@]}" --uuid-file-save="$T/u-kill" "$BB" --exec /bin/sh -- -c 'echo up; exec /bin/busybox sleep 1000' \
  >"$T/kill.out" 2>&1 &
kp=$!
bg_pids+=($kp)
set +m
wait_for "the pod to run" grep -q up "$T/kill.out"
uk=$(cat "$T/u-kill")
wait_for "the pod to be ready" test -e "$D/pods/run/$uk/ready"
# kill -9 of the stage1 and of the app (this stage1 puts each app in a process group of its own)
kill -KILL -- "-$kp"
for g in $(cat "$D/pods/run/$uk/.app-pgids"); do kill -KILL -- "-$g" 2>/dev/null || true; done
wait "$kp" 2>/dev/null || true
wait_for "the lock to be released" sh -c "[ \"\$($FERRY --dir $D status $uk | sed -n 's/^state=//p')\" = exited ]"
expect_status 0 F gc
grep -q "$uk" "$T/out" || fail "gc did not mark $uk: $(cat "$T/out")"
[ -d "$D/pods/exited-garbage/$uk" ] || fail "gc did not move the pod to exited-garbage"
expect_status 0 F gc --grace-period=0s
[ ! -e "$D/pods/exited-garbage/$uk" ] || fail "gc --grace-period=0s kept the pod"
expect_status 254 F status "$uk"
ok "after kill -9 the pod is exited; gc marks then removes it"

# --- gc collects prepared pods after --expire-prepared, and everything else on demand
expect_status 0 F prepare "${R[@]}" "$BB"
upp=$(cat "$T/out")
expect_status 0 F gc --expire-prepared=1h
[ -d "$D/pods/prepared/$upp" ] || fail "gc removed a fresh prepared pod"
expect_status 0 F gc --expire-prepared=0s --grace-period=0s
[ ! -e "$D/pods/prepared/$upp" ] || fail "gc kept an expired prepared pod"
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] ||
  fail "pods left: $(find "$D/pods" -maxdepth 2)"
ok "gc: --expire-prepared, --grace-period; no pod left"

# --- what cannot be applied is reported, never dropped silently
cat >"$T/pm.json" <<EOF
{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"odd",
 "image":{"id":"$(F fetch "$BB")"},
 "app":{"exec":["/bin/sh","-c","exit 0"],"user":"0","group":"0",
  "isolators":[{"name":"example.com/frobnicate","value":{"x":1}}]}}]}
EOF
expect_status 0 F run "${R[@]}" --pod-manifest="$T/pm.json"
grep -q 'unknown isolator "example.com/frobnicate"' "$T/err" || fail "no warning: $(cat "$T/err")"
ok "--pod-manifest; an unknown isolator is reported"
echo "pods_shell: $checks checks passed"
