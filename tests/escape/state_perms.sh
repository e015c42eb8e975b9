#!/usr/bin/env bash
# A local user against ferry's state (finding 7, moby CVE-2021-41091 class): pod directories hold
# --set-env secrets and the metadata service's token, and a pod's overlay upper directory holds
# whatever the pod wrote, setuid-root binaries included. As uid 65534 nothing of it may be
# listed, read or reached, in the pods or in the store; `ferry list`/`status` say one line; an
# older ferry's 0755 directories are tightened on first use; root's read-only commands work.
source "$(dirname "$0")/escape_lib.sh"
source "$(dirname "$0")/../functional/services/lib.sh"
escape_setup
trap 'svc_stop_all; pods_cleanup' EXIT
command -v setpriv >/dev/null || skip "setpriv is not installed"
command -v svc_mds >/dev/null || skip "the services harness has no metadata service"
svc_mds
# mktemp made $T 0700: opened up, only ferry's own modes stand between the user and the state.
chmod 0755 "$T"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# The paths (of those given) that uid 65534 can read, one a line.
readable_by_nobody() {
  nobody sh -c 'for f; do if [ -d "$f" ]; then ls "$f" >/dev/null 2>&1 && echo "$f"; else head -c1 "$f" >/dev/null 2>&1 && echo "$f"; fi; done' sh "$@"
}

secret=s3cret-$RANDOM$RANDOM
img=$(hostile_image state '{"exec":["/bin/sh","-c","cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid && touch /tmp/planted && sleep 300"],"user":"0","group":"0"}')
F run --set-env=SECRET=$secret --mds-register --mds-socket "$MDS_SOCKET" "$img" >"$T/pod.out" 2>"$T/pod.err" &
bg+=($!)
wait_for "the pod to plant its setuid binary" sh -c "ls '$D'/pods/run/*/apps/*/upper/tmp/planted >/dev/null 2>&1"
pod=$(echo "$D"/pods/run/*)
uuid=$(basename "$pod")
suid=$(echo "$pod"/apps/*/upper/tmp/suid)
[ -u "$suid" ] || fail "the pod did not plant a setuid binary at $suid"
token=$(jq -r '.mds.token' "$pod/runtime.json")
[ -n "$token" ] && [ "$token" != null ] || fail "runtime.json has no metadata token"

# Everything under the data directory except the pod's mounted rootfs and the trees' contents.
find "$D" \( -path "$pod/apps/*/rootfs" -o -path "$D/cas/trees/*/rootfs" \) -prune -o -print >"$T/paths"
readable_by_nobody $(grep -v "^$D\$" "$T/paths") >"$T/readable" || true
if [ -s "$T/readable" ]; then
  head -20 "$T/readable" >&2
  fail "uid 65534 reads $(wc -l <"$T/readable") paths of ferry's state"
fi
ok "uid 65534 lists and reads none of the $(wc -l <"$T/paths") paths of the pods and the store"
if nobody ls "$D/pods" >/dev/null 2>&1 || nobody ls "$D/pods/run" >/dev/null 2>&1; then
  fail "uid 65534 lists the pods"
fi
ok "uid 65534 cannot list pods/"
if nobody "$suid" id -u >"$T/suid.out" 2>&1 || nobody test -e "$suid"; then
  fail "uid 65534 reaches the pod's setuid binary $suid ($(cat "$T/suid.out"))"
fi
ok "uid 65534 cannot reach the setuid binary the pod planted in its upper directory"
if nobody grep -rqs -e "$token" -e "$secret" "$D"; then fail "uid 65534 reads the metadata token or a secret"; fi
ok "uid 65534 reads neither the metadata token nor the --set-env secret"
tree=$(jq -r '.apps[0].tree' "$pod/runtime.json")
if nobody ls "$tree" >/dev/null 2>&1; then fail "uid 65534 reaches the image tree $tree"; fi
ok "uid 65534 cannot reach the store's rendered trees"

expect_status 254 nobody "$FERRY" --dir "$D" list
one_line "list as uid 65534"
if grep -q "$uuid" "$T/out" "$T/err"; then fail "list as uid 65534 shows the pod"; fi
ok "ferry list as uid 65534: 254 and one line ($(cat "$T/err"))"
expect_status 254 nobody "$FERRY" --dir "$D" status "$uuid"
one_line "status as uid 65534"
if grep -q running "$T/out" "$T/err"; then fail "status as uid 65534 shows the pod's state"; fi
ok "ferry status as uid 65534: 254 and one line ($(cat "$T/err"))"

# Root's read-only commands still work.
expect_status 0 F list --no-legend --full
grep -q "$uuid.*running" "$T/out" || fail "list as root: $(cat "$T/out")"
expect_status 0 F status "$uuid"
grep -q "state=running" "$T/out" || fail "status as root: $(cat "$T/out")"
expect_status 0 F cat-manifest "$uuid"
ok "root still lists the pod, its status and its manifest"
F stop "$uuid" >/dev/null
F status --wait=20s "$uuid" >/dev/null

# A non-root app still reaches its own /, /etc/hosts and an empty volume.
img2=$(hostile_image user '{"exec":["/bin/sh","-c","ls / >/dev/null && cat /etc/hosts >/dev/null && touch /v/x && echo fine"],"user":"1000","group":"1000","mountPoints":[{"name":"v","path":"/v"}]}')
run_pod "non-root app" --volume=v,kind=empty,uid=1000,gid=1000 "$img2"
[ "$st" -eq 0 ] && grep -qx fine "$T/out" || { cat "$T/out" "$T/err" >&2; fail "a uid-1000 app exited $st"; }
ok "a uid-1000 app still reads /, /etc/hosts and writes its empty volume"

# State made by an older ferry (0755 directories, 0711 pod directories) is tightened on first
# use: the pods by any pod command, the store when it is opened.
chmod 0755 "$D/pods" "$D/pods/run" "$D/cas"
chmod 0711 "$D"/pods/run/*
expect_status 0 F list
expect_status 0 F image list
[ "$(stat -c %a "$D/pods")" = 700 ] && [ "$(stat -c %a "$D/pods/run")" = 700 ] &&
  [ "$(stat -c %a "$D/cas")" = 700 ] || fail "an older ferry's directories stay open: $(stat -c '%a %n' "$D/pods" "$D/pods/run" "$D/cas")"
ok "an older ferry's pods/ and cas/ are tightened to 0700 on first use"
host_unchanged "state perms"
echo "escape.state_perms: $checks checks passed"
