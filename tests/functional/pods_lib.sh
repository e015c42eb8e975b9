# Shared by the pod tests (pods_*.sh): sourced after lib.sh, with $FERRY, $D (the data dir) and
# $T set.

# Stops every running pod of $D (forced) and waits for each to end; never fails.
stop_running_pods() {
  local u
  for u in $("$FERRY" --dir "$D" list --no-legend --full 2>/dev/null | awk -F'\t' '$4 == "running" {print $1}'); do
    "$FERRY" --dir "$D" stop --force "$u" >/dev/null 2>&1 || true
    "$FERRY" --dir "$D" status --wait=10s "$u" >/dev/null 2>&1 || true
  done
}

# Collects every pod of $D, prepared ones included; never fails.
gc_pods() { "$FERRY" --dir "$D" gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1 || true; }

# Waits (bounded, 30 s) until a condition holds; no timing is asserted.
wait_for() { # WHAT CMD...
  local what=$1 i
  shift
  for i in $(seq 1 600); do
    "$@" && return 0
    sleep 0.05
  done
  fail "timed out waiting for $what"
}

no_mounts_under() { # DIR WHAT
  if grep -F " $1/" /proc/self/mountinfo >"$T/mounts.left"; then
    cat "$T/mounts.left" >&2
    fail "$2: mounts left under $1"
  fi
}

# Fails unless $T/err (expect_status's stderr) is exactly one line.
one_line() { # WHAT
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "$1: want one line on stderr"; }
}

# The start of a pod test on the ns stage1: skips what this machine cannot run; sets NS (the
# stage1), D (the data directory), BB and OCI (fixture images) and bg (background pids); F runs
# ferry on D. At exit: running pods stopped, background jobs killed, pods collected, $T removed.
pods_test_setup() {
  [ "$(id -u)" -eq 0 ] || skip "the ns stage1 needs root"
  command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
  NS=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/ns
  [ -f "$NS/stage1.json" ] && [ -x "$NS/bin/ferry-stage2" ] || skip "the ns stage1 is not built ($NS)"
  D=$T/data
  BB=$FIXTURES/bb.aci
  OCI=oci:$FIXTURES/oci:v1
  bg=()
  trap pods_cleanup EXIT
}
F() { "$FERRY" --dir "$D" --insecure-options=image "$@"; }
pods_cleanup() {
  stop_running_pods
  local p
  for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  gc_pods
  rm -rf "$T"
}
