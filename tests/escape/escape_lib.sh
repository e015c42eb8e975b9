# Shared by the adversarial tests (tests/escape/*.sh): sourced first. Brings lib.sh and
# pods_lib.sh (F, D, BB, OCI, pods_test_setup, …), a canary tree on the host, and a builder of
# hostile images that carry busybox and the probes. Each test: escape_setup, hostile images,
# pods, then host_unchanged after every attempt.
source "$(dirname "${BASH_SOURCE[0]}")/../functional/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../functional/pods_lib.sh"
: "${PROBES:?PROBES must point to the built probes (tests/escape/CMakeLists.txt)}"

# ESCAPE_RUN_FLAGS: extra flags for every `run` and `prepare` of the suite (its second run,
# `escape.userns.*`, passes --private-users): each test must hold unchanged with them. F adds
# them after the command word; a test calling ferry itself adds "${escape_run_flags[@]}".
escape_run_flags=()
if [ -n "${ESCAPE_RUN_FLAGS:-}" ]; then
  read -r -a escape_run_flags <<<"$ESCAPE_RUN_FLAGS"
  F() {
    local a args=() added=
    for a in "$@"; do
      args+=("$a")
      if [ -z "$added" ] && { [ "$a" = run ] || [ "$a" = prepare ]; }; then
        args+=("${escape_run_flags[@]}")
        added=1
      fi
    done
    "$FERRY" --dir "$D" --insecure-options=image "${args[@]}"
  }
fi

# Whether the pods of this run are in a user namespace (a control that needs a host capability
# in the pod then shows the opposite).
escape_userns() { [[ " ${escape_run_flags[*]} " == *" --private-users"[\ =]* ]]; }

escape_setup() {
  pods_test_setup
  [ -x "$PROBES/probe" ] || skip "the probes are not built ($PROBES)"
  # Host files a hostile pod would read or write.
  C=$T/canary
  mkdir -p "$C"
  echo "canary" >"$C/file"
  treesum "$C" >"$T/canary.before"
}

# hostile_image NAME APP-JSON [SETUP]: an ACI (packed by GNU tar, a peer) whose rootfs holds
# busybox (/bin/sh and friends) and every probe in /probe/, then SETUP run in the rootfs. Prints
# its path. Run it with F run (signature checks are off in F).
hostile_image() {
  local name=$1 app=$2 setup=${3:-} r=$T/img-$1
  mkdir -p "$r/rootfs/bin" "$r/rootfs/probe" "$r/rootfs/tmp" "$r/rootfs/etc"
  cp /bin/busybox "$r/rootfs/bin/busybox"
  for a in sh ls cat echo id stat readlink pwd sleep touch mkdir; do ln -sf busybox "$r/rootfs/bin/$a"; done
  cp "$PROBES"/* "$r/rootfs/probe/"
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' >"$r/rootfs/etc/passwd"
  printf 'root:x:0:\nuser:x:1000:\n' >"$r/rootfs/etc/group"
  if [ -n "$setup" ]; then (cd "$r/rootfs" && eval "$setup"); fi
  printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/escape-%s","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":%s}\n' \
    "$name" "$app" >"$r/manifest"
  tar -C "$r" --numeric-owner -czf "$T/$name.aci" manifest rootfs
  echo "$T/$name.aci"
}

# host_unchanged WHAT: the canary tree is byte for byte as it was and nothing is mounted on it.
host_unchanged() {
  treesum "$C" >"$T/canary.after"
  diff -u "$T/canary.before" "$T/canary.after" >&2 || fail "$1: the host's canary files changed"
  if grep -F "$C" /proc/self/mountinfo >"$T/mounts.left"; then
    cat "$T/mounts.left" >&2
    fail "$1: a mount appeared on the host's canary directory"
  fi
}

# The host's mount points, sorted, without those of the suite's other tests, which run in
# parallel and mount under their own temporary directories (net tests' namespace files, pods'
# netns): what a pod of this test could leave on the host shows, the neighbours' churn does not.
host_mount_points() {
  local tmp=${TMPDIR:-/tmp}
  awk '{print $5}' /proc/self/mountinfo | awk -v own="$T" -v tmp="$tmp/ferry-" \
    'index($0, own) == 1 || index($0, tmp) != 1' | sort
}

# run_pod WHAT ARGS...: `F run ARGS`, stdout in $T/out, stderr in $T/err, status in $st; never
# fails by itself.
run_pod() {
  local what=$1
  shift
  set +e
  F run "$@" >"$T/out" 2>"$T/err"
  st=$?
  set -e
  if [ -n "${ESCAPE_DEBUG:-}" ]; then
    echo "--- $what: exit $st" >&2
    cat "$T/out" "$T/err" >&2
  fi
}

# start_pod NAME ARGS...: `F run ARGS` in the background until the pod's app prints a line
# "ready"; sets u (the pod's UUID); output in $T/NAME.out. pods_cleanup stops it at exit.
start_pod() {
  local name=$1
  shift
  rm -f "$T/$name.u"
  F run --uuid-file-save="$T/$name.u" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  bg+=($!)
  wait_for "pod $name to start" grep -q 'ready$' "$T/$name.out"
  u=$(cat "$T/$name.u")
}
