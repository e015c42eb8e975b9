# Helpers for the ns stage1's functional tests (sourced after ../lib.sh). They build pod
# directories by hand (make_pod.py, per stage1/ABI.md) and drive the stage1's entrypoints
# directly, with real namespaces, cgroups and overlayfs over a busybox-static tree.
: "${STAGE1_NS:?STAGE1_NS must point to the built ns stage1 directory}"
HERE_NS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "$(id -u)" -eq 0 ] || skip "the ns stage1 needs root"
[ -x /bin/busybox ] || skip "busybox-static is not installed"

[ -x "$STAGE1_NS/bin/ferry-stage2" ] || fail "the ns stage1 at $STAGE1_NS ships no ferry-stage2"

PODS=()
OVERLAYS=()
cleanup_ns() {
  local p
  for p in "${PODS[@]}"; do
    (cd "$p" && "$STAGE1_NS/bin/gc" --uuid "$(pod_uuid "$p")") >/dev/null 2>&1 || true
  done
  for p in "${OVERLAYS[@]}"; do umount -l "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup_ns EXIT

# A busybox-static tree, as the tree store would render it.
make_tree() { # DIR
  mkdir -p "$1/bin" "$1/etc" "$1/tmp"
  cp /bin/busybox "$1/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"$1/etc/passwd"
  echo 'root:x:0:' >"$1/etc/group"
}

# new_pod DIR [make_pod.py options…]: a pod directory with a fresh UUID.
new_pod() {
  local dir=$1
  shift
  python3 "$HERE_NS/make_pod.py" --pod "$dir" --uuid "$(cat /proc/sys/kernel/random/uuid)" "$@"
  PODS+=("$dir")
}

pod_uuid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$1/runtime.json"; }

# run_pod DIR [run options]: runs the pod to its end with the lock held like stage0 does;
# stdin is the caller's, stdout/stderr go to DIR.out/DIR.err; returns the pod's exit code.
run_pod() {
  local dir=$1
  shift
  (cd "$dir" && exec 9>>lock && flock -x 9 &&
    exec "$STAGE1_NS/bin/run" --uuid "$(pod_uuid "$dir")" --lock-fd 9 "$@") \
    >"$dir.out" 2>"$dir.err"
}

# start_pod DIR: runs the pod in the background; POD_PID is the run process.
start_pod() {
  local dir=$1
  shift
  (cd "$dir" && exec 9>>lock && flock -x 9 &&
    exec "$STAGE1_NS/bin/run" --uuid "$(pod_uuid "$dir")" --lock-fd 9 "$@") \
    >"$dir.out" 2>"$dir.err" &
  POD_PID=$!
}

# wait_for FILE: until it exists (the pod init's `ready`, say), or fail after ~20 s.
wait_for() {
  local i
  for i in $(seq 1 400); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  fail "$1 did not appear"
}

# wait_line FILE LINE: until FILE holds LINE (an app saying it is up), or fail after ~20 s.
wait_line() {
  local i
  for i in $(seq 1 400); do
    grep -qx "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "$1 never said $2"
}

# json_get FILE KEY: a top-level field, as JSON (strings unquoted).
json_get() {
  python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

expect_field() { # FILE KEY WANT
  local got
  got=$(json_get "$1" "$2")
  [ "$got" = "$3" ] || fail "$1: $2 is $got, want $3"
}

# The pod's cgroup directories (from cgroups.json), one a line.
pod_cgroups() {
  python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).values()))' \
    "$1/cgroups.json"
}

# Nothing of the pod is left: no mount under its directory in this mount namespace, no cgroup.
expect_clean() { # DIR WHAT
  local dir=$1 cg
  if grep -F " $dir/" /proc/self/mountinfo >"$T/mounts.left"; then
    cat "$T/mounts.left" >&2
    fail "$2: mounts left under $dir"
  fi
  [ -s "$dir/cgroups.json" ] || fail "$2: no cgroups.json"
  while read -r cg; do
    [ ! -e "$cg" ] || fail "$2: cgroup $cg left"
  done < <(pod_cgroups "$dir")
  ok "$2: no mounts and no cgroups left"
}
