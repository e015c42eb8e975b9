#!/usr/bin/env bash
# Terminal injection (finding 6): a pod process pushes a line into its terminal's input with
# ioctl(TIOCSTI) (probes/tiocsti.c), hoping the admin's shell runs it once ferry returns. An
# admin's terminal is a pty made by ptyrun.py, with a shell that, after ferry, reads one line of
# what is left in that terminal's input and prints it. Nothing the pod pushed may be there: not
# with `run --interactive`, not through `ferry enter`, not from a non-interactive pod through
# /dev/tty, not when stdin is a pipe. Meanwhile the pod still gets a working terminal (tty names
# a /dev/pts/N of its own, stty size the admin's size, typed input arrives), its exit status
# comes back, and the admin's terminal modes are as they were.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
command -v python3 >/dev/null || skip "python3 is not installed"
PTYRUN=$(dirname "$0")/ptyrun.py
FR=("$FERRY" --dir "$D" --insecure-options=image)
tools='ln -sf busybox bin/tty; ln -sf busybox bin/stty; ln -sf busybox bin/sed'
app='tty; stty size; echo APP-READY; read l; echo "got:$l"; /probe/tiocsti; exit 3'
img=$(hostile_image term "{\"exec\":[\"/bin/sh\",\"-c\",$(printf '%s' "$app" | jq -Rs .)],\"user\":\"0\",\"group\":\"0\"}" "$tools")

# admin WHAT CMD...: CMD in the admin's shell on a 33x111 pty, "typed-line" typed once the app
# says APP-READY; the shell then prints FERRY-EXIT, the terminal modes before and after, and
# AFTER:[…], the first line left in the terminal's input. Output (without CRs) in $T/out.
admin() {
  local what=$1
  shift
  set +e
  timeout 90 python3 "$PTYRUN" 33 111 APP-READY $'typed-line\n' -- bash -c '
    echo "STTY-BEFORE=$(stty -g)"
    "$@"
    echo "FERRY-EXIT=$?"
    echo "STTY-AFTER=$(stty -g)"
    read -r -t 2 line
    echo "AFTER:[$line]"' bash "$@" >"$T/raw" 2>&1
  local rc=$?
  set -e
  tr -d '\r' <"$T/raw" >"$T/out"
  if [ -n "${ESCAPE_DEBUG:-}" ]; then echo "--- $what (ptyrun $rc)" >&2; cat "$T/out" >&2; fi
  [ "$rc" -eq 0 ] || { cat "$T/out" >&2; fail "$what: the admin's shell exited $rc"; }
}
not_injected() { # WHAT
  grep -q '^AFTER:\[\]$' "$T/out" || { cat "$T/out" >&2; fail "$1: the pod typed into the admin's terminal: $(grep '^AFTER:' "$T/out")"; }
  if grep -q '^ok tiocsti' "$T/out"; then cat "$T/out" >&2; fail "$1: TIOCSTI succeeded in the pod"; fi
  if grep -q '^ok tioclinux' "$T/out"; then cat "$T/out" >&2; fail "$1: TIOCLINUX succeeded in the pod"; fi
}
modes_restored() { # WHAT
  local before after
  before=$(sed -n 's/^STTY-BEFORE=//p' "$T/out")
  after=$(sed -n 's/^STTY-AFTER=//p' "$T/out")
  [ -n "$before" ] && [ "$before" = "$after" ] || fail "$1: the terminal's modes changed: $before -> $after"
}
works_as_a_terminal() { # WHAT STATUS
  grep -Eq '^/dev/pts/[0-9]+$' "$T/out" || { cat "$T/out" >&2; fail "$1: tty names no /dev/pts/N"; }
  grep -qx '33 111' "$T/out" || { cat "$T/out" >&2; fail "$1: stty size is not the admin's 33 111"; }
  grep -qx 'got:typed-line' "$T/out" || { cat "$T/out" >&2; fail "$1: typed input did not reach the app"; }
  grep -qx "FERRY-EXIT=$2" "$T/out" || { cat "$T/out" >&2; fail "$1: exit status is not $2"; }
}

# --- run --interactive
admin "run --interactive" "${FR[@]}" run "${escape_run_flags[@]}" --interactive "$img"
not_injected "run --interactive"
ok "run --interactive: nothing the pod pushed with TIOCSTI/TIOCLINUX reaches the admin's terminal"
works_as_a_terminal "run --interactive" 3
ok "run --interactive: the app has a tty of its own ($(grep -E '^/dev/pts/' "$T/out")), the admin's size, typed input, exit 3"
modes_restored "run --interactive"
ok "run --interactive: the admin's terminal modes are restored"
grep -q '^denied tiocsti fd0 (Operation not permitted)' "$T/out" &&
  grep -q '^denied tiocsti-hi fd0 (Operation not permitted)' "$T/out" &&
  grep -q '^denied tioclinux fd0 (Operation not permitted)' "$T/out" || { cat "$T/out" >&2; fail "the default seccomp filter does not refuse TIOCSTI/TIOCLINUX on the pod's own pty"; }
ok "the default seccomp filter refuses TIOCSTI and TIOCLINUX (high request bits too) with EPERM"

# --- enter
sleeper=$(hostile_image sleeper '{"exec":["/bin/sh","-c","touch /tmp/up; sleep 300"],"user":"0","group":"0"}' "$tools")
"${FR[@]}" run "${escape_run_flags[@]}" --uuid-file-save="$T/uuid" "$sleeper" >/dev/null 2>&1 &
bg+=($!)
wait_for "the pod to start" test -s "$T/uuid"
uuid=$(cat "$T/uuid")
wait_for "the pod's app" test -e "$D/pods/run/$uuid/ready"
admin "enter" "${FR[@]}" enter "$uuid" /bin/sh -c "$app"
not_injected "enter"
works_as_a_terminal "enter" 3
modes_restored "enter"
ok "enter: nothing pushed reaches the admin's terminal; the command has a tty of its own, the size, input, exit 3; modes restored"
"${FR[@]}" stop "$uuid" >/dev/null
"${FR[@]}" status --wait=20s "$uuid" >/dev/null

# --- a non-interactive pod: its apps must not reach the admin's terminal through /dev/tty
admin "run" "${FR[@]}" run "${escape_run_flags[@]}" "$img" --exec /probe/tiocsti
not_injected "non-interactive run"
grep -q '^denied tiocsti /dev/tty' "$T/out" || { cat "$T/out" >&2; fail "a non-interactive app opened /dev/tty"; }
ok "a non-interactive pod has no controlling terminal: /dev/tty opens nothing of the admin's"

# --- stdin not a terminal: no pty, and no terminal at all reaches the pod
admin "run --interactive <pipe" sh -c 'echo piped-line | "$@"' sh "${FR[@]}" run "${escape_run_flags[@]}" --interactive "$img" \
  --exec /bin/sh -- -c 'for f in 0 1 2; do [ -t $f ] && echo "TTY-ON-$f"; done; /probe/tiocsti; cat; exit 5'
not_injected "run --interactive with a pipe on stdin"
if grep -q '^TTY-ON-' "$T/out"; then cat "$T/out" >&2; fail "a terminal reached the pod with stdin a pipe"; fi
grep -qx piped-line "$T/out" && grep -qx FERRY-EXIT=5 "$T/out" || { cat "$T/out" >&2; fail "the piped run lost its input or status"; }
modes_restored "run --interactive with a pipe on stdin"
ok "run --interactive with stdin a pipe: no terminal in the pod, input and exit 5 pass"
host_unchanged "terminal"
echo "escape.terminal: $checks checks passed"
