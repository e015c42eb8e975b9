# Shared by the pod tests (pods_*.sh): sourced after lib.sh, with $FERRY, $D (the data dir) and
# $T set.

# Stops every running pod of $D (forced) and waits for each to end; never fails.
stop_running_pods() {
  local u
  for u in $("$FERRY" --dir "$D" --format=json list 2>/dev/null |
    jq -r '.[] | select(.state == "running") | .name' 2>/dev/null); do
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

# The start of a pod test on the ns stage1 (or FERRY_STAGE1's: use_stage1_flavor): skips what
# this machine cannot run; sets NS (the stage1), D (the data directory), BB and OCI (fixture
# images) and bg (background pids); F runs ferry on D. At exit: running pods stopped, background
# jobs killed, pods collected, $T removed.
pods_test_setup() {
  [ "$(id -u)" -eq 0 ] || skip "the ns stage1 needs root"
  command -v jq >/dev/null || skip "jq is not installed (dist/setup)"
  NS=$(cd "$(dirname "$FERRY")/.." && pwd)/libexec/ferry/stage1/${FERRY_STAGE1:-ns}
  [ -f "$NS/stage1.json" ] && [ -x "$NS/bin/ferry-stage2" ] || skip "the ${FERRY_STAGE1:-ns} stage1 is not built ($NS)"
  [ -z "${FERRY_STAGE1:-}" ] || use_stage1_flavor
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

# FERRY_STAGE1 (ctest's functional.<flavor>.*, escape.<flavor>.* and conformance.ace.<flavor>
# entries): the stage1 flavor every `run` and `prepare` of the test uses. FERRY becomes a wrapper
# in $T that adds --stage1-name=FLAVOR after the subcommand (unless the test names a stage1
# itself) and, for fly, whose pods share the host's network, --net=host where the test gives no
# --net and names no stage1 (or one by --stage1-path: a copy of $NS); stop, enter, status and gc
# use the stage1 recorded at prepare.
use_stage1_flavor() {
  case $FERRY_STAGE1 in
    nspawn) command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (dist/setup)" ;;
  esac
  echo "# stage1: $FERRY_STAGE1"
  {
    echo '#!/bin/bash'
    printf 'real=%q flavor=%q\n' "$FERRY" "$FERRY_STAGE1"
    cat <<'WRAPPER'
named=0 net=0 out=() done=0
for a in "$@"; do
  case $a in
    --stage1-name | --stage1-name=*) named=1 ;;
    --stage1-path | --stage1-path=*) named=path ;;
    --net | --net=*) net=1 ;;
  esac
done
for a in "$@"; do
  out+=("$a")
  if [ "$done" = 0 ] && { [ "$a" = run ] || [ "$a" = prepare ]; }; then
    [ "$named" != 0 ] || out+=("--stage1-name=$flavor")
    # fly (or a test's copy of it, --stage1-path) offers only the host's network.
    if [ "$flavor" = fly ] && [ "$net" = 0 ] && [ "$named" != 1 ]; then out+=(--net=host); fi
    done=1
  fi
done
exec "$real" "${out[@]}"
WRAPPER
  } >"$T/ferry-$FERRY_STAGE1"
  chmod 0755 "$T/ferry-$FERRY_STAGE1"
  # $T searchable (not listable) by everyone: a test that runs ferry as another user (pods_ns's
  # uid 65534) runs it through the wrapper too.
  chmod 0711 "$T"
  FERRY=$T/ferry-$FERRY_STAGE1
}

# skip_on_stage1 FLAVOR REASON: on that flavor (FERRY_STAGE1) the test does not apply: skips,
# printing why.
skip_on_stage1() {
  if [ "${FERRY_STAGE1:-ns}" = "$1" ]; then skip "not on the $1 stage1: $2"; fi
}
# applies_on_stage1 FLAVOR REASON: false on that flavor, printing why, for a part of a test that
# does not apply to it (`if applies_on_stage1 fly "two apps"; then … fi`).
applies_on_stage1() {
  if [ "${FERRY_STAGE1:-ns}" = "$1" ]; then
    echo "# skipped on the $1 stage1: $2"
    return 1
  fi
}
