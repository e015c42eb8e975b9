#!/usr/bin/env bash
# Finding 1 of issue 9 (CVE-2024-21626's class): a working directory outside the pod. An image's
# workingDirectory (or --working-dir) that is, or passes through, a /proc magic link —
# /proc/1/cwd, /proc/1/root, /proc/self/fd/N, /proc/1/cwd/../.. — must never put the app in a
# host directory: the app is refused with one line naming the working directory, or runs
# confined to its rootfs. From there the app reads a host canary and writes next to it by
# relative paths (every depth that could reach it from the pod directory, the host's root or the
# pod's parents). `ferry enter` must not do better through a symlink the app plants on its
# working directory, and its command must hold no descriptor but stdio.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

# Relative paths to the canary from the host's root, from the pod directory ($D/pods/run/UUID)
# and from the directories above it.
rels="${C#/} ../../../../canary ../../../canary ../../canary ../canary canary"
attempt='pwd; for r in '"$rels"'; do /probe/probe read $r/file; /probe/probe write $r/pwned x; done; exit 0'

# judge WHAT: refused in one line naming the working directory, or confined; the host unchanged.
judge() {
  local what=$1
  if grep -q '^ok .*canary' "$T/out" "$T/err"; then
    cat "$T/out" "$T/err" >&2
    fail "$what: the app reached the host's canary by a relative path"
  fi
  host_unchanged "$what"
  if [ "$st" -eq 0 ]; then
    grep -q '^/' "$T/out" || fail "$what: the app ran but printed no working directory"
    ok "$what: ran confined ($(head -1 "$T/out")); host unchanged"
  else
    [ "$(grep -c 'working directory' "$T/err")" -eq 1 ] || {
      cat "$T/out" "$T/err" >&2
      fail "$what: refused ($st) without one line naming the working directory"
    }
    ok "$what: refused: $(grep -m1 'working directory' "$T/err" | sed 's/^.*cannot/cannot/')"
  fi
}

n=0
for wd in /proc/1/cwd /proc/1/root /proc/1/cwd/../.. /proc/1/root/proc/1/cwd /proc/self/cwd \
  /proc/self/root /proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5 /proc/self/fd/6 \
  /proc/self/fd/7 /proc/self/fd/8 /proc/self/fd/9 /proc/thread-self/cwd; do
  n=$((n + 1))
  img=$(hostile_image "cwd$n" '{"exec":["/bin/sh","-c","'"$attempt"'"],"user":"0","group":"0","workingDirectory":"'"$wd"'"}')
  run_pod "workingDirectory $wd" "$img"
  judge "workingDirectory $wd"
done

# The same through the operator's --working-dir (an app flag, after the image).
plain=$(hostile_image plain '{"exec":["/bin/sh","-c","'"$attempt"'"],"user":"0","group":"0"}')
for wd in /proc/1/cwd /proc/1/root /proc/self/fd/3; do
  run_pod "--working-dir $wd" "$plain" --working-dir="$wd"
  judge "--working-dir $wd"
done

# enter: first from the app's plain working directory /work (the command must hold no descriptor
# but stdio), then after the app turned /work into a symlink to /proc/1/cwd.
img=$(hostile_image enterwd '{"exec":["/bin/sh","-c","echo up; while [ ! -e /tmp/plant ]; do sleep 0.05; done; cd / && rmdir /work && ln -s /proc/1/cwd /work && echo planted && exec sleep 1000"],"user":"0","group":"0","workingDirectory":"/work"}' 'mkdir work')
F run --uuid-file-save="$T/u-enter" "$img" >"$T/enter.out" 2>&1 &
bg+=($!)
wait_for "the pod to start" test -s "$T/u-enter"
wait_for "the app to start" grep -q '^up' "$T/enter.out"
u=$(cat "$T/u-enter")
set +e
F enter "$u" /bin/sh -c 'echo fds: $(ls /proc/self/fd)' >"$T/out" 2>"$T/err"
st=$?
set -e
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "enter of a plain command exited $st"; }
# ls opens /proc/self/fd itself (3): nothing else beyond stdio.
grep -qx 'fds: 0 1 2 3' "$T/out" || { cat "$T/out" "$T/err" >&2; fail "enter: the command holds descriptors beyond stdio"; }
ok "enter: no descriptor beyond stdio reaches the command"
F enter "$u" /bin/touch /tmp/plant >/dev/null 2>&1 || fail "enter could not touch /tmp/plant"
wait_for "the app to plant its symlink" grep -q '^planted' "$T/enter.out"
set +e
F enter "$u" /bin/sh -c "$attempt" >"$T/out" 2>"$T/err"
st=$?
set -e
judge "enter with /work -> /proc/1/cwd"
F stop --force "$u" >/dev/null 2>&1 || true
echo "escape.cwd: $checks checks passed"
