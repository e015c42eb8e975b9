#!/usr/bin/env bash
# Files that are not regular files where ferry's privileged side reads the app's root: a FIFO at
# /etc/group put there by a hostile image, one at /etc/passwd by a hostile app after its start.
# ferry-stage2 (before the app's start) and `ferry enter`'s helper (for each command) read them
# to resolve the app's user and group by name; an open(2) of a FIFO blocks until someone writes
# it, so a read of one would hang `ferry run` or the operator's `ferry enter` for as long as the
# pod pleases. Each must end at once, refused in one line naming the file.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

# judge WHAT FILE: ended within the timeout, refused, one line naming FILE; host unchanged.
judge() {
  local what=$1 file=$2
  [ "$st" -ne 124 ] || { cat "$T/out" "$T/err" >&2; fail "$what: hung (killed after ${bound}s)"; }
  [ "$st" -ne 0 ] || { cat "$T/out" "$T/err" >&2; fail "$what: read a FIFO as $file and went on"; }
  [ "$(grep -c "\"$file\" of the app: not a regular file" "$T/err")" -eq 1 ] || {
    cat "$T/out" "$T/err" >&2
    fail "$what: refused ($st) without one line naming $file"
  }
  host_unchanged "$what"
  ok "$what: refused: $(grep -m1 'not a regular file' "$T/err" | sed 's/^.*cannot resolve/cannot resolve/')"
}
bound=20

# One image: its /etc/group is a FIFO; its app, root by name, swaps its /etc/passwd for one.
app='{"exec":["/bin/sh","-c","rm /etc/passwd && busybox mkfifo /etc/passwd && echo ready && exec sleep 1000"],"user":"root","group":"root"}'
img=$(hostile_image fifo "$app" "rm -f etc/group && busybox mkfifo etc/group")

# The image's FIFO, read at the start (ferry-stage2) for the group by name.
set +e
timeout -k 5 "$bound" "$FERRY" --dir "$D" --insecure-options=image run "${escape_run_flags[@]}" \
  "$img" >"$T/out" 2>"$T/err"
st=$?
set -e
judge "an image whose /etc/group is a FIFO, group by name (ferry run)" /etc/group
grep -q 'ready$' "$T/out" && fail "the app of the FIFO image ran"

# The app's FIFO, made after its start (group 0 given), read by `ferry enter` for the user.
start_pod fifo "$img" --group=0
set +e
timeout -k 5 "$bound" "$FERRY" --dir "$D" enter "$u" /bin/echo entered >"$T/out" 2>"$T/err" </dev/null
st=$?
set -e
judge "an app that made its /etc/passwd a FIFO, user by name (ferry enter)" /etc/passwd
grep -q '^entered' "$T/out" && fail "the entered command ran"
expect_status 0 F stop "$u"
echo "escape.special_files: $checks checks passed"
