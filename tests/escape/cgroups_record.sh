#!/usr/bin/env bash
# A pod's cgroups.json is a record that gc, stop and enter act on: they kill every process of
# the cgroups it names and remove them. A hand-edited (or planted) record must never lead them
# outside the pod (issue 9, finding 9): a path with "..", a sibling cgroup that is not the pod's,
# a "hierarchy" that is no cgroup mount. Each is refused in one line; a victim cgroup beside the
# pod's, holding a host process, keeps its process and its directory, and a plain host
# directory named like the pod's cgroup stays.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
# kvm: the host keeps no record (QEMU and virtiofsd are in none of the pod's cgroups, which are
# its guest's); a record planted there meets stage1/common's same check, tested on ns.
skip_on_stage1 kvm "the host keeps no cgroups.json of a kvm pod: its cgroups are its guest's"

# pod_record UUID: the pod's cgroups.json, wherever the pod is now.
pod_record() { find "$D/pods" -mindepth 3 -maxdepth 3 -path "*/$1/cgroups.json" | head -1; }

# A finished pod: its record is what gc reads.
expect_status 0 F run --uuid-file-save="$T/u.gc" "$BB" --exec /bin/busybox -- true
u=$(cat "$T/u.gc")
rec=$(pod_record "$u")
[ -f "$rec" ] || fail "no cgroups.json for pod $u"
cp "$rec" "$T/record.orig"
# One hierarchy to play in (pids where there is one): the pod's cgroup there and its parent.
mount=$(jq -r 'keys[]' "$rec" | grep -m1 pids || jq -r 'keys[0]' "$rec")
podcg=$(jq -r --arg m "$mount" '.[$m]' "$rec")
parent=$(dirname "$podcg")

# The victim: a cgroup beside the pod's (named like a ferry one), holding a process of the host.
victim=$parent/ferry-victim-$$
mkdir "$victim"
sleep 1000 &
vpid=$!
echo "$vpid" >"$victim/cgroup.procs"
cleanup_victim() {
  kill "$vpid" 2>/dev/null || true
  wait "$vpid" 2>/dev/null || true
  rmdir "$victim" 2>/dev/null || true
}
# A failing check leaves a planted record: the pod's own goes back before the pods are stopped.
restore_record() { if [ -n "${live:-}" ] && [ -f "$live" ]; then cp "$T/record.orig" "$live"; fi; }
trap 'cleanup_victim; restore_record; pods_cleanup' EXIT
fake=$T/fake/ferry-$u
mkdir -p "$fake"

victim_alive() { # WHAT
  kill -0 "$vpid" 2>/dev/null || fail "$1: the victim process outside the pod was killed"
  [ -d "$victim" ] || fail "$1: the victim cgroup $victim was removed"
  grep -qx "$vpid" "$victim/cgroup.procs" || fail "$1: the victim process left its cgroup"
  [ -d "$fake" ] || fail "$1: a host directory named in the record was removed"
}

# plant RECORD-FILE JQ-FILTER: rewrites the pod's record.
plant() { jq --arg m "$mount" --arg p "$podcg" --arg v "$victim" --arg f "$T/fake" --arg u "$u" "$2" "$T/record.orig" >"$1"; }

filters=(
  '.[$m] = ($p + "/../" + ($v | split("/") | last))'
  '.[$m] = $v'
  '. + {($f): ($f + "/ferry-" + $u)}'
)
labels=("a path through '..'" "a sibling cgroup that is not the pod's" "a directory that is no cgroup mount")
for i in "${!filters[@]}"; do
  plant "$(pod_record "$u")" "${filters[$i]}"
  set +e
  F gc --grace-period=0s >"$T/out" 2>"$T/err"
  st=$?
  set -e
  victim_alive "gc, ${labels[$i]}"
  [ "$st" -eq 254 ] || { cat "$T/out" "$T/err" >&2; fail "gc, ${labels[$i]}: exit $st, want 254"; }
  grep -q "cannot use cgroup" "$T/err" || { cat "$T/err" >&2; fail "gc, ${labels[$i]}: no refusal said"; }
  [ "$(grep -c "cannot use cgroup" "$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "gc: not one line"; }
  ok "gc refuses a record with ${labels[$i]} (exit 254): …$(grep -o ': [^:]*$' "$T/err" | head -1)"
done
cp "$T/record.orig" "$(pod_record "$u")"
expect_status 0 F gc --grace-period=0s
[ -z "$(pod_record "$u")" ] || fail "the restored pod was not collected"
ok "the pod with its own record is collected"

# A running pod: stop --force kills what its record names.
rm -f "$T/u.stop"
F run --uuid-file-save="$T/u.stop" "$BB" --exec /bin/busybox -- sh -c 'echo up; exec sleep 100' >"$T/bg.out" 2>"$T/bg.err" &
bg+=($!)
wait_for "the pod to come up" grep -qx up "$T/bg.out"
u=$(cat "$T/u.stop")
rec=$(pod_record "$u")
cp "$rec" "$T/record.orig"
live=$rec
podcg=$(jq -r --arg m "$mount" '.[$m]' "$rec")
plant "$rec" "${filters[0]}"
set +e
F stop --force "$u" >"$T/out" 2>"$T/err"
st=$?
set -e
victim_alive "stop --force, a path through '..'"
[ "$st" -ne 0 ] && grep -q "cannot use cgroup" "$T/err" || { cat "$T/err" >&2; fail "stop --force did not refuse the record (exit $st)"; }
set +e
F enter "$u" /bin/true >"$T/out" 2>"$T/err"
st=$?
set -e
[ "$st" -ne 0 ] && grep -q "cannot use cgroup" "$T/err" || { cat "$T/err" >&2; fail "enter did not refuse the record (exit $st)"; }
ok "stop --force and enter refuse it too (exit $st): nothing outside the pod touched"
restore_record
echo "escape.cgroups_record: $checks checks passed"
