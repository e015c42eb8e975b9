#!/usr/bin/env bash
# Stopping an ns pod: SIGTERM within the grace period, SIGKILL after it, stop --force; the
# pod's private network namespace has its loopback up; enter runs a command inside an app.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"
stop_pod() { # DIR [--force]
  local dir=$1
  shift
  (cd "$dir" && "$STAGE1_NS/bin/stop" --uuid "$(pod_uuid "$dir")" "$@")
}
wait_pod() { # → the run process's exit status in $code
  set +e
  wait "$POD_PID"
  code=$?
  set -e
}

# An app that handles SIGTERM and exits 0 in time: the pod ends with 0.
P=$T/graceful
new_pod "$P" --stop-timeout 30 --app web --tree "$T/tree" --user 1000:1000 --cwd /tmp \
  --exec '["sh","-c","trap \"echo term-handled; exit 0\" TERM; echo up; while :; do sleep 0.1; done"]'
start_pod "$P"
wait_line "$P/logs/web.log" up
wait_for "$P/pid"
init=$(cat "$P/pid")
# The pod's own network namespace: loopback only, and up.
[ "$(readlink /proc/$init/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
  fail "the pod shares the host's network namespace"
links=$(nsenter --net=/proc/$init/ns/net ip -o link show)
[ "$(echo "$links" | wc -l)" -eq 1 ] || fail "more than loopback in the pod: $links"
echo "$links" | grep -q 'lo: <LOOPBACK,UP' || fail "loopback is not up: $links"
ok "private network namespace with loopback up"
[ "$(readlink /proc/$init/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] || fail "no PID namespace"
[ "$(readlink /proc/$init/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] || fail "no IPC namespace"
[ "$(readlink /proc/$init/ns/uts)" != "$(readlink /proc/self/ns/uts)" ] || fail "no UTS namespace"
[ "$(readlink /proc/$init/ns/cgroup)" != "$(readlink /proc/self/ns/cgroup)" ] || fail "no cgroup namespace"
grep -q 'ferry-init' /proc/$init/cmdline || fail "pid is not the pod init"
ok "pid, ipc, uts, cgroup namespaces; pid names the pod init"

(cd "$P" && "$STAGE1_NS/bin/enter" --uuid "$(pod_uuid "$P")" --app web -- sh -c 'echo entered; cat /proc/1/cmdline | tr "\0" " "') >"$T/enter.out" 2>&1 ||
  { cat "$T/enter.out" >&2; fail "enter failed"; }
grep -qx entered "$T/enter.out" || fail "enter: $(cat "$T/enter.out")"
grep -q ferry-init "$T/enter.out" || fail "enter is not in the pod's PID namespace: $(cat "$T/enter.out")"
(cd "$P" && "$STAGE1_NS/bin/enter" --uuid "$(pod_uuid "$P")" --app web -- sh -c 'echo $(id -u):$(id -g) $(pwd) $AC_APP_NAME') >"$T/enter.out" 2>&1
[ "$(cat "$T/enter.out")" = "1000:1000 /tmp web" ] || fail "enter: not the app's user, cwd and env: $(cat "$T/enter.out")"
expect_status 3 sh -c "cd '$P' && '$STAGE1_NS/bin/enter' --uuid $(pod_uuid "$P") --app web -- sh -c 'exit 3'"
ok "enter runs a command in the app (pod PID namespace, exit status kept)"

stop_pod "$P"
wait_pod
[ "$code" -eq 0 ] || { cat "$P.err" >&2; fail "graceful stop: pod exited $code, want 0"; }
grep -qx term-handled "$P/logs/web.log" || fail "the app did not see SIGTERM"
expect_field "$P/status/web.json" exitCode 0
ok "stop: SIGTERM reaches the app, which exits 0 within the grace period"
expect_clean "$P" "stopped pod"
stop_pod "$P"  # stopping an ended pod does nothing
ok "stop of an ended pod succeeds"

# An app that ignores SIGTERM is killed when the grace period ends.
P=$T/stubborn
new_pod "$P" --stop-timeout 1 --app a --tree "$T/tree" \
  --exec '["sh","-c","trap \"\" TERM; echo up; while :; do sleep 0.1; done"]'
start_pod "$P"
wait_line "$P/logs/a.log" up
stop_pod "$P"
wait_pod
[ "$code" -eq 137 ] || { cat "$P.err" >&2; fail "grace over: pod exited $code, want 137"; }
expect_field "$P/status/a.json" signal SIGKILL
ok "stop: SIGKILL after the grace period"
expect_clean "$P" "pod killed after its grace"

# --force: every process of the pod now, the init included; run finishes the files.
P=$T/force
new_pod "$P" --stop-timeout 60 --app a --tree "$T/tree" \
  --exec '["sh","-c","trap \"\" TERM; sleep 1000 & echo up; while :; do sleep 0.1; done"]'
start_pod "$P"
wait_line "$P/logs/a.log" up
stop_pod "$P" --force
wait_pod
[ "$code" -eq 137 ] || { cat "$P.err" >&2; fail "stop --force: pod exited $code, want 137"; }
expect_field "$P/status/a.json" state exited
expect_field "$P/status/a.json" signal SIGKILL
[ "$(cat "$P/exit")" = 137 ] || fail "exit file after --force: $(cat "$P/exit")"
ok "stop --force kills the pod at once; status and exit written"
expect_clean "$P" "force-stopped pod"

# net "host": the host's network namespace.
P=$T/hostnet
new_pod "$P" --net host --app a --tree "$T/tree" --exec '["sh","-c","while :; do sleep 0.1; done"]'
start_pod "$P"
wait_for "$P/ready"
init=$(cat "$P/pid")
[ "$(readlink /proc/$init/ns/net)" = "$(readlink /proc/self/ns/net)" ] || fail "net host: own namespace"
stop_pod "$P"
wait_pod
ok "net host keeps the host's network namespace"

# A stop sent the moment the pod exists (the init may not even have its signal handling yet)
# is not lost: the pod ends.
P=$T/early
new_pod "$P" --stop-timeout 2 --app a --tree "$T/tree" --exec '["sh","-c","sleep 1000"]'
start_pod "$P"
wait_for "$P/pid"
stop_pod "$P"
wait_for "$P/exit"
wait_pod
[ "$code" -ne 0 ] || [ "$(json_get "$P/status/a.json" state)" = created ] ||
  fail "early stop: pod exited 0 although its app ran"
ok "a stop right after the start ends the pod (exit $code)"
expect_clean "$P" "early-stopped pod"
