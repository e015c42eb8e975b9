#!/usr/bin/env bash
# Host fds leaking into a pod: ferry's own (the pod lock, pipes, sockets, the store's SQLite
# database) and whatever the caller of ferry had open (here fds 7, 8 and 9: a host file, a host
# file open for writing and a host directory, the shape of CVE-2024-21626). The app, its
# pre-start handler and a `ferry enter` command (also entered with the extra fds open) must each
# see only fds 0, 1 and 2; the host files stay as they were.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

: >"$T/writable"
app='{"exec":["/bin/sh","-c","/probe/sys fds app; echo ready; exec sleep 1000"],"user":"0","group":"0","eventHandlers":[{"name":"pre-start","exec":["/probe/sys","fds","pre-start"]}]}'
img=$(hostile_image fd-leaks "$app")

only_std_fds() { # TAG WHAT FILE
  local fds
  fds=$(grep "^$1 fd " "$3" | awk '{print $3}' | sort -n | tr '\n' ' ')
  [ "$fds" = "0 1 2 " ] || { grep "^$1 fd " "$3" >&2; fail "$2: fds besides 0, 1, 2 are open: $fds"; }
  ok "$2: only fds 0, 1, 2 ($(grep "^$1 fd " "$3" | awk '{print $4}' | tr '\n' ' '))"
}

# Control: the probe does list an inherited fd (run on the host with fd 7 open).
"$PROBES/sys" fds host 7<"$C/file" >"$T/out"
grep -q "^host fd 7 $C/file\$" "$T/out" || { cat "$T/out" >&2; fail "control: the probe missed fd 7"; }
ok "control: the probe lists an inherited fd 7"

exec 7<"$C/file" 8>>"$T/writable" 9<"$C"
start_pod leaks "$img"
exec 7<&- 8>&- 9<&-
only_std_fds pre-start "the pre-start handler, ferry run with fds 7-9 open" "$T/leaks.out"
only_std_fds app "the app, ferry run with fds 7-9 open" "$T/leaks.out"

expect_status 0 F enter "$u" /probe/sys fds enter
only_std_fds enter "ferry enter" "$T/out"
exec 7<"$C/file" 8>>"$T/writable" 9<"$C"
expect_status 0 F enter "$u" /probe/sys fds enter
exec 7<&- 8>&- 9<&-
only_std_fds enter "ferry enter with fds 7-9 open" "$T/out"
exec 7<"$C/file" 8>>"$T/writable" 9<"$C"
F enter "$u" /bin/sh -c 'echo pwned >&8; cat <&7; ls <&9' >"$T/out" 2>&1 || true
exec 7<&- 8>&- 9<&-
! grep -q -e canary -e '^file$' "$T/out" || fail "enter read the host's canary through an inherited fd: $(cat "$T/out")"
ok "a shell entered with fds 7-9 open cannot use them ($(head -1 "$T/out"))"

expect_status 0 F stop "$u"
[ ! -s "$T/writable" ] || fail "something was written to the host file behind fd 8"
host_unchanged "fd leaks"
ok "the host files behind the caller's fds are unchanged"
echo "escape.fd_leaks: $checks checks passed"
