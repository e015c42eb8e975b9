#!/usr/bin/env bash
# gc, stop, enter and run-prepared run a pod's stage1 entrypoints as root (finding 9): they must
# run the stage1 the pod was prepared with, never whatever the pod directory's `stage1` link
# points to now, nor a --stage1-path stage1 whose files changed since.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
canary=$T/pwned
# A stage1 whose every entrypoint touches the canary (as root, were it run).
evil=$T/evil-stage1
mkdir -p "$evil/bin"
printf '#!/bin/sh\ntouch %q\nexit 0\n' "$canary" >"$evil/bin/gc"
chmod 0755 "$evil/bin/gc"
for e in run stop enter; do cp "$evil/bin/gc" "$evil/bin/$e"; done
echo '{"name":"ns","interfaceVersion":1,"entrypoints":{"run":"bin/run","stop":"bin/stop","enter":"bin/enter","gc":"bin/gc"},"features":{"net":["host","none","default"],"interactive":true,"mds":true,"cgroups":true,"root":true}}' >"$evil/stage1.json"

img=$(hostile_image link '{"exec":["/bin/sh","-c","exit 0"],"user":"0","group":"0"}')

# 1. An exited pod of the installed stage1, its link repointed: gc runs the installed gc.
run_pod "exited pod" "$img"
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the pod exited $st"; }
pod=$(echo "$D"/pods/run/*)
ln -sfn "$evil" "$pod/stage1"
expect_status 0 F gc --grace-period=0s
[ ! -e "$canary" ] || fail "ferry gc ran the stage1 the pod's link was repointed to"
[ -z "$(find "$D/pods" -mindepth 2 -maxdepth 2)" ] || fail "gc left the pod: $(find "$D/pods" -mindepth 2 -maxdepth 2)"
ok "gc of a pod whose stage1 link was repointed runs the installed stage1's gc, not the link's"

# 2. The same for a prepared pod (run-prepared) and a running one (stop, enter).
expect_status 0 F prepare "$img"
uuid=$(tail -1 "$T/out")
ln -sfn "$evil" "$D/pods/prepared/$uuid/stage1"
expect_status 0 F run-prepared "$uuid"
[ ! -e "$canary" ] || fail "run-prepared ran the stage1 the link was repointed to"
ok "run-prepared ignores a repointed stage1 link"
slow=$(hostile_image slow '{"exec":["/bin/sh","-c","touch /tmp/up; sleep 300"],"user":"0","group":"0"}')
F run "$slow" >/dev/null 2>&1 &
bg+=($!)
running() { F --format=json list | jq -r '.[] | select(.state == "running") | .name' | head -1; }
has_running() { [ -n "$(running)" ]; }
wait_for "the running pod" has_running
uuid=$(running)
wait_for "the running pod's app" test -e "$D/pods/run/$uuid/ready"
ln -sfn "$evil" "$D/pods/run/$uuid/stage1"
expect_status 0 F enter "$uuid" /bin/sh -c 'echo inside'
grep -qx inside "$T/out" || fail "enter: $(cat "$T/out" "$T/err")"
expect_status 0 F stop "$uuid"
F status --wait=20s "$uuid" >/dev/null
[ ! -e "$canary" ] || fail "enter or stop ran the stage1 the link was repointed to"
ok "enter and stop of a running pod ignore a repointed stage1 link"

# 3. A --stage1-path stage1 changed after prepare: refused with one line, nothing run.
mine=$T/mine-stage1
cp -a "$NS" "$mine"
expect_status 0 F run --stage1-path="$mine" --uuid-file-save="$T/uuid" "$img"
uuid=$(cat "$T/uuid")
cp "$evil/bin/gc" "$mine/bin/gc"
expect_status 254 F rm "$uuid"
one_line "rm of a pod whose stage1 changed"
grep -q 'changed since the pod was prepared' "$T/err" || fail "rm: $(cat "$T/err")"
[ ! -e "$canary" ] || fail "rm ran a --stage1-path gc that changed after prepare"
ok "a --stage1-path stage1 whose gc changed after prepare is refused: $(cat "$T/err")"
rm -rf "$D/pods/run/$uuid"
host_unchanged "stage1 link"
echo "escape.stage1_link: $checks checks passed"
