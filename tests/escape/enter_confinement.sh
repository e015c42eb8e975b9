#!/usr/bin/env bash
# `ferry enter` runs a command in a running app's confinement, not with ferry's: the same
# capability sets, seccomp mode 2 (filtering), no_new_privs as the app, the same cgroups and the
# same mount, pid, net, ipc and uts namespaces; no host file is reachable. Checked for a root app
# and a uid-1000 app, with the entered command's view compared line by line to the app's own.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

view='busybox grep -E "^(Uid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status
sed_prefix() { while read -r l; do echo "cgroup $l"; done; }
sed_prefix </proc/self/cgroup
for n in mnt pid net ipc uts cgroup; do echo "ns $n $(readlink /proc/self/ns/$n)"; done
/probe/probe read '"$C/file"' | while read -r l; do echo "host $l"; done'
for user in 0 1000; do
  app=$(jq -cn --arg v "$view" --arg u "$user" \
    '{exec:["/bin/sh","-c",($v + "; echo ready; exec sleep 1000")],user:$u,group:$u}')
  img=$(hostile_image "enter-$user" "$app")
  start_pod "enter-$user" "$img"
  grep -v -e '^ready$' -e '^\[' "$T/enter-$user.out" | sed 's/^\[[^]]*\] //' >"$T/app.view"
  expect_status 0 F enter "$u" /bin/sh -c "$view"
  cp "$T/out" "$T/enter.view"; [ -z "${ESCAPE_DEBUG:-}" ] || cat "$T/app.view" >&2
  grep -q '^Seccomp:[[:space:]]*2$' "$T/enter.view" || { cat "$T/enter.view" >&2; fail "uid $user: the entered command has no seccomp filter"; }
  grep -q '^host denied' "$T/enter.view" || { cat "$T/enter.view" >&2; fail "uid $user: the entered command reached the host's $C/file"; }
  [ "$(grep -c '^ns ' "$T/enter.view")" -eq 6 ] || { cat "$T/enter.view" >&2; fail "uid $user: namespaces missing"; }
  if ! diff -u "$T/app.view" "$T/enter.view" >&2; then
    fail "uid $user: the entered command's confinement differs from the app's (- app, + enter)"
  fi
  ok "uid $user: enter has the app's capabilities, seccomp mode 2, no_new_privs, cgroups and namespaces; no host file"
  expect_status 0 F stop "$u"
done
host_unchanged "enter"
echo "escape.enter_confinement: $checks checks passed"
