#!/usr/bin/env bash
# Hostile images through `ferry run` on the ns stage1 (stage2_rootfs.sh feeds ferry-stage2
# bundles directly; here the images come through the store and prepare): a mount point that is a
# symlink to a host directory (absolute, and ../../… relative), /proc, /sys and /dev replaced by
# symlinks to host directories, a working directory reached through a symlink out of the rootfs,
# /etc/hosts and /etc/resolv.conf (or /etc itself) symlinked to the host's. Every run must
# either work inside the rootfs or fail with one clear line; the host's canary directories stay
# byte for byte as they were, no mount appears outside the pod, and after the pod no mount or
# cgroup of it is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup

# Host directories an escaping image would write to or mount over.
C=$T/canary
for d in data hostvol-target proc sys dev wd etc; do
  mkdir -p "$C/$d"
  echo "canary $d" >"$C/$d/canary"
done
treesum "$C" >"$T/canary.before"
up=$(printf '../%.0s' {1..20})  # enough ../ to reach / from anywhere in a rootfs
rel=${up}${C#/}

# hostile_aci NAME MANIFEST-APP-JSON SETUP: a busybox ACI whose rootfs SETUP (run in the
# rootfs) makes hostile; packed by GNU tar (a peer), symlinks stored as they are.
hostile_aci() {
  local name=$1 app=$2 setup=$3 r=$T/img-$1
  mkdir -p "$r/rootfs/bin"
  cp /bin/busybox "$r/rootfs/bin/busybox"
  ln -s busybox "$r/rootfs/bin/sh"
  (cd "$r/rootfs" && eval "$setup")
  printf '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/hostile-%s","labels":[{"name":"version","value":"1"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"app":%s}\n' \
    "$name" "$app" >"$r/manifest"
  tar -C "$r" --numeric-owner -czf "$T/$name.aci" manifest rootfs
  echo "$T/$name.aci"
}
host_unchanged() { # WHAT
  treesum "$C" >"$T/canary.after"
  diff -u "$T/canary.before" "$T/canary.after" >&2 || fail "$1: the host's canary directories changed"
  if grep -F "$C" /proc/self/mountinfo >"$T/mounts.left"; then
    cat "$T/mounts.left" >&2
    fail "$1: a mount appeared on the host's canary directories"
  fi
}
pod_gone_clean() { # UUID WHAT: after the pod, nothing of it is mounted, no cgroup of it is left
  local u=$1
  if grep -F "$u" /proc/self/mountinfo >"$T/mounts.left"; then
    cat "$T/mounts.left" >&2
    fail "$2: mounts of pod $u left"
  fi
  [ -z "$(find /sys/fs/cgroup -maxdepth 4 -name "ferry-$u" 2>/dev/null)" ] || fail "$2: cgroups of pod $u left"
}
# judge WHAT STATUS: the run either worked (0) or failed with one clear line (254 and a message).
judge() {
  local what=$1 st=$2 u
  u=$(cat "$T/uuid" 2>/dev/null || true)
  host_unchanged "$what"
  [ -z "$u" ] || pod_gone_clean "$u" "$what"
  if [ "$st" -eq 0 ]; then
    ok "$what: ran inside the rootfs; host untouched"
  else
    ok "$what: refused ($st): $(grep -v -e '^\[' -e '^ferry: warning:' "$T/err" | head -1); host untouched"
  fi
}
run_judged() { # WHAT ARGS...: runs a pod; its status in $st (0, or 1/254 for a refusal)
  local what=$1
  shift
  rm -f "$T/uuid"
  set +e
  F run --uuid-file-save="$T/uuid" "$@" >"$T/out" 2>"$T/err"
  st=$?
  set -e
  if [ "$st" -ne 0 ] && [ "$st" -ne 254 ] && [ "$st" -ne 1 ]; then
    cat "$T/out" "$T/err" >&2
    fail "$what: exited $st"
  fi
}

# (a) mount points that are symlinks to a host directory, absolute and relative.
# "inroot" is the benign control: /data -> /srv/data, which the rootfs has; it must work.
for kind in abs rel inroot; do
  setup="ln -s '$C/data' data"
  [ $kind = rel ] && setup="ln -s '$rel/data' data"
  [ $kind = inroot ] && setup="mkdir -p srv/data && ln -s /srv/data data"
  aci=$(hostile_aci "mp-$kind" \
    '{"exec":["/bin/sh","-c","echo pwned >/data/x && cat /data/x"],"user":"0","group":"0","mountPoints":[{"name":"data","path":"/data"}]}' \
    "$setup")
  run_judged "mount point /data -> $kind host dir, empty volume" --volume data,kind=empty "$aci"
  [ $kind != inroot ] || [ "$st" -eq 0 ] || fail "a symlink inside the rootfs: $(cat "$T/err")"
  if [ "$st" -eq 0 ]; then
    grep -qx pwned "$T/out" || fail "mp-$kind: $(cat "$T/out")"
    v=$(find "$D/pods" -path "*/$(cat "$T/uuid")/volumes/data" -type d)
    [ "$(cat "$v/x" 2>/dev/null)" = pwned ] || fail "mp-$kind: the write did not land in the volume"
  fi
  judge "mount point /data -> $kind host dir, empty volume" "$st"
  mkdir -p "$T/hostvol"
  run_judged "mount point /data -> $kind host dir, host volume" \
    --volume "data,kind=host,source=$T/hostvol" "$aci"
  [ $kind != inroot ] || [ "$st" -eq 0 ] || fail "a symlink inside the rootfs, host volume: $(cat "$T/err")"
  if [ "$st" -eq 0 ]; then
    [ "$(cat "$T/hostvol/x" 2>/dev/null)" = pwned ] || fail "mp-$kind host volume: the write did not land in the source"
    rm -f "$T/hostvol/x"
  fi
  judge "mount point /data -> $kind host dir, host volume" "$st"
  # an explicit --mount on a path through the symlink
  run_judged "--mount target=/data/sub through /data -> $kind host dir" \
    --volume "v,kind=host,source=$T/hostvol" "$aci" --mount volume=v,target=/data/sub \
    --exec /bin/sh -- -c 'echo in-sub >/data/sub/y'
  [ $kind != inroot ] || [ "$st" -eq 0 ] || fail "--mount below a mount point: $(cat "$T/err")"
  if [ "$st" -eq 0 ]; then
    [ "$(cat "$T/hostvol/y" 2>/dev/null)" = in-sub ] || fail "--mount through a symlink: the write did not land in the source"
    rm -f "$T/hostvol/y"
  fi
  judge "--mount target=/data/sub through /data -> $kind host dir" "$st"
done

# (b) /proc, /sys, /dev replaced by symlinks to host directories.
for kind in abs rel; do
  base=$C
  [ $kind = rel ] && base=$rel
  aci=$(hostile_aci "pseudo-$kind" \
    '{"exec":["/bin/sh","-c","cat /proc/self/stat >/dev/null && ls /sys/kernel >/dev/null && echo ok >/dev/null && echo pseudo-ok"],"user":"0","group":"0"}' \
    "ln -s '$base/proc' proc; ln -s '$base/sys' sys; ln -s '$base/dev' dev")
  run_judged "/proc, /sys, /dev -> $kind host dirs" "$aci"
  [ "$st" -ne 0 ] || grep -qx pseudo-ok "$T/out" || fail "pseudo-$kind: $(cat "$T/out")"
  judge "/proc, /sys, /dev -> $kind host dirs" "$st"
done

# (c) a working directory through a symlink out of the rootfs.
for kind in abs rel; do
  target=$C/wd
  [ $kind = rel ] && target=$rel/wd
  aci=$(hostile_aci "wd-$kind" \
    '{"exec":["/bin/sh","-c","echo pwned >here; pwd"],"user":"0","group":"0","workingDirectory":"/work/inner"}' \
    "ln -s '$target' work")
  run_judged "workingDirectory via /work -> $kind host dir" "$aci"
  judge "workingDirectory via /work -> $kind host dir" "$st"
  run_judged "--working-dir via /work -> $kind host dir" "$aci" --working-dir /work
  judge "--working-dir via /work -> $kind host dir" "$st"
done

# (d) /etc/hosts and /etc/resolv.conf that are symlinks to host files, and /etc itself a symlink
# to a host directory, with and without --hosts-entry/--dns (stage0 binds files there).
printf '10.0.0.1\tcanary\n' >"$C/etc/hosts"
printf 'nameserver 10.0.0.1\n' >"$C/etc/resolv.conf"
treesum "$C" >"$T/canary.before"
for kind in files dir; do
  setup="mkdir etc && ln -s '$C/etc/hosts' etc/hosts && ln -s '$rel/etc/resolv.conf' etc/resolv.conf"
  [ $kind = dir ] && setup="ln -s '$C/etc' etc"
  aci=$(hostile_aci "etc-$kind" \
    '{"exec":["/bin/sh","-c","cat /etc/hosts /etc/resolv.conf; echo 10.6.6.6 pwned >>/etc/hosts"],"user":"0","group":"0"}' \
    "$setup")
  run_judged "/etc ($kind) -> host, no flag" "$aci"
  ! grep -q canary "$T/out" || fail "etc-$kind: the app read the host's canary files: $(cat "$T/out")"
  judge "/etc ($kind) -> host, no flag" "$st"
  run_judged "/etc ($kind) -> host, --hosts-entry and --dns" --hosts-entry 192.0.2.7=given \
    --dns 192.0.2.8 "$aci"
  ! grep -q canary "$T/out" || fail "etc-$kind: the app read the host's canary files: $(cat "$T/out")"
  judge "/etc ($kind) -> host, --hosts-entry and --dns" "$st"
done

expect_status 0 F gc --grace-period=0s
if grep -F " $D/" /proc/self/mountinfo >"$T/mounts.left"; then
  cat "$T/mounts.left" >&2
  fail "gc left mounts under $D"
fi
host_unchanged "after gc"
ok "gc: no mount left; the canaries are as they were"
echo "pods_hostile: $checks checks passed"
