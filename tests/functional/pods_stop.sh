#!/usr/bin/env bash
# What stopping a pod sends each app: the OCI image's StopSignal (set by umoci, also through
# ferry's ACI translation of that image), --stop-signal, SIGTERM by default; the same signal when
# another app of the pod fails; recorded in the pod manifest (dev.ferry.stop-signal); SIGKILL
# after --stop-timeout.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
command -v umoci >/dev/null || skip "umoci is not installed (dist/setup)"

# The app: says which signal ended it (trapped), or keeps running.
waiter='trap "echo got-usr1; exit 0" USR1; trap "echo got-hup; exit 0" HUP
trap "echo got-term; exit 0" TERM; echo up; while :; do /bin/busybox sleep 0.05; done'

# start_pod NAME ARGS…: `ferry run ARGS…` in the background until each of its apps said "up"
# (its traps are set); $u is its UUID.
start_pod() {
  local name=$1
  shift
  rm -f "$T/$name.u"
  F run --uuid-file-save="$T/$name.u" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  bg+=($!)
  run_pid=$!
  local apps=1 a
  for a in "$@"; do [ "$a" != --- ] || apps=$((apps + 1)); done
  wait_for "pod $name to start" sh -c "[ \$(grep -c 'up\$' '$T/$name.out') -ge $apps ]"
  u=$(cat "$T/$name.u")
}
# stop_pod NAME WANT-EXIT: ferry stop, then the run's exit status.
stop_pod() {
  expect_status 0 F stop "$u"
  set +e
  wait "$run_pid"
  local rc=$?
  set -e
  [ "$rc" -eq "$2" ] || fail "$1: the pod exited $rc, want $2: $(cat "$T/$1.out" "$T/$1.err")"
}
annotation() { # UUID APP → the app's dev.ferry.stop-signal in the pod manifest
  F cat-manifest "$1" | jq -r --arg a "$2" \
    '.apps[] | select(.name == $a) | [.annotations[]? | select(.name == "dev.ferry.stop-signal") | .value][0] // "none"'
}

# An OCI image whose config says StopSignal SIGUSR1 (umoci writes it).
cp -a "$FIXTURES/oci" "$T/oci"
umoci config --image "$T/oci:v1" --tag stop --config.stopsignal SIGUSR1
[ "$(jq -r '.config.StopSignal' "$T/oci/blobs/sha256/$(jq -r '.config.digest' \
  "$T/oci/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "stop") | .digest' "$T/oci/index.json" | cut -d: -f2)" | cut -d: -f2)")" = SIGUSR1 ] ||
  fail "umoci did not write the StopSignal"

start_pod oci "oci:$T/oci:stop" --name app -- -c "$waiter"
stop_pod oci 0
grep -qx got-usr1 "$T/oci.out" || fail "the OCI app did not get SIGUSR1: $(cat "$T/oci.out")"
[ "$(annotation "$u" app)" = SIGUSR1 ] || fail "pod manifest: $(annotation "$u" app)"
ok "an OCI image's StopSignal (SIGUSR1) is what ferry stop sends its app; the pod manifest records it"

# The image's ACI translation keeps the StopSignal (annotation dev.ferry.oci.config): honoured too.
expect_status 0 F image convert "oci:$T/oci:stop" "$T/stop.aci"
start_pod aci "$T/stop.aci" --name app --exec /bin/sh -- -c "$waiter"
stop_pod aci 0
grep -qx got-usr1 "$T/aci.out" || fail "the translated ACI's app did not get SIGUSR1: $(cat "$T/aci.out")"
ok "the same image translated to an ACI by ferry: SIGUSR1 still"

# --stop-signal overrides the image's; numbers and names without SIG are accepted.
start_pod flag "oci:$T/oci:stop" --name app --stop-signal=1 -- -c "$waiter"
stop_pod flag 0
grep -qx got-hup "$T/flag.out" || fail "--stop-signal=1 sent: $(cat "$T/flag.out")"
[ "$(annotation "$u" app)" = SIGHUP ] || fail "pod manifest with --stop-signal: $(annotation "$u" app)"
ok "--stop-signal=1 (SIGHUP) overrides the image's StopSignal"

# No StopSignal, no flag: SIGTERM. Two apps: each gets its own.
if applies_on_stage1 fly "a pod of two apps (fly runs one)"; then
  start_pod two "$BB" --name plain --exec /bin/sh -- -c "$waiter" \
    --- "$BB" --name quiet --stop-signal USR1 --exec /bin/sh -- -c "$waiter"
  stop_pod two 0
  grep -qx '\[plain\] got-term' "$T/two.out" && grep -qx '\[quiet\] got-usr1' "$T/two.out" ||
    fail "two apps: $(cat "$T/two.out")"
  [ "$(annotation "$u" plain)" = none ] || fail "an app without a stop signal has $(annotation "$u" plain)"
  ok "default SIGTERM; in one pod each app gets its own stop signal"

  # When an app fails, the others are stopped with their stop signal as well.
  # (the failing app waits until the other one has its traps: it says so in a shared volume)
  expect_status 5 F run --volume s,kind=empty,mode=0777 \
    "$BB" --name failing --mount volume=s,target=/s --exec /bin/sh -- -c \
    'until [ -e /s/up ]; do /bin/busybox sleep 0.05; done; exit 5' \
    --- "oci:$T/oci:stop" --name app --mount volume=s,target=/s -- -c "${waiter/echo up;/touch /s/up;}"
  grep -qx '\[app\] got-usr1' "$T/out" || fail "the other app of a failed pod: $(cat "$T/out" "$T/err")"
  ok "an app failing: the others get their stop signal (SIGUSR1), the pod exits with the failure (5)"
else
  expect_status 254 F run "$BB" --name one --- "$BB" --name two
  one_line "a second app on fly"
  grep -q 'not supported' "$T/err" || fail "a second app on fly: $(cat "$T/err")"
  ok "fly: a pod of two apps is refused in one line"
fi

# --stop-timeout: an app that ignores its stop signal is killed when the grace period ends
# (runtime.json's stopTimeoutSeconds, recorded as the pod annotation dev.ferry.stop-timeout).
start_pod stubborn --stop-timeout 1s "$BB" --name app --exec /bin/sh -- -c \
  'trap "echo ignored" TERM; echo up; while :; do /bin/busybox sleep 0.05; done'
[ "$(jq -r .stopTimeoutSeconds "$D/pods/run/$u/runtime.json")" = 1 ] ||
  fail "runtime.json stopTimeoutSeconds: $(jq .stopTimeoutSeconds "$D/pods/run/$u/runtime.json")"
F cat-manifest "$u" | jq -e '.annotations == [{"name": "dev.ferry.stop-timeout", "value": "1"}]' >/dev/null ||
  fail "pod annotations: $(F cat-manifest "$u" | jq -c .annotations)"
stop_pod stubborn 137
grep -qx ignored "$T/stubborn.out" || fail "the app did not get its SIGTERM: $(cat "$T/stubborn.out")"
expect_status 0 F status "$u"
grep -qx 'app-app=signal:SIGKILL' "$T/out" || fail "status after the grace period: $(cat "$T/out")"
ok "--stop-timeout 1s: an app ignoring SIGTERM is SIGKILLed after the grace period (137)"

for bad in "--stop-signal SIGNOPE" "--stop-signal 0" "--stop-signal 65" "--stop-timeout 1.5s" \
  "--stop-timeout 500ms" "--stop-timeout 25h"; do
  # shellcheck disable=SC2086
  expect_status 2 F run "$BB" $bad
  one_line "ferry run $bad"
done
jq '.apps[0].annotations = [{"name": "dev.ferry.stop-signal", "value": "SIGBOGUS"}]' \
  <(F cat-manifest "$u") >"$T/bad-pm.json"
expect_status 254 F run --pod-manifest "$T/bad-pm.json"
one_line "a pod manifest with a bad stop signal"
grep -q 'dev.ferry.stop-signal' "$T/err" || fail "the error does not name the annotation: $(cat "$T/err")"
ok "bad stop signals and timeouts: the flags exit 2, a pod manifest's bad signal 254, one line each"
echo "pods_stop: $checks checks passed"
