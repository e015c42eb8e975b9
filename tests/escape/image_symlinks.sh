#!/usr/bin/env bash
# Symlinks in an image's rootfs aimed at where ferry mounts things, beyond what
# functional/pods_hostile.sh covers (a mount point, /proc, /sys, /dev and /etc as one symlink):
# /dev/pts, /dev/shm and /dev/mqueue symlinked out of the rootfs; a volume's mount point reached
# through a chain of three relative symlinks that ends on a host directory; a mount point that
# is a symlink through the pod's procfs (/proc/1/root/…, /proc/self/cwd/…: magic links that
# lead out of any root) and one to /proc/sys (a volume there would hide the read-only mask).
# Each run either works inside the rootfs or is refused with one line; the host's canaries stay
# as they were and no mount appears outside the pod.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

mkdir -p "$C/target" "$T/hostvol"
echo canary >"$C/target/canary"
treesum "$C" >"$T/canary.before"
up=$(printf '../%.0s' {1..20})
rel=${up}${C#/}

judge() { # WHAT: the run worked (0) or was refused with a message; the host is untouched
  if [ "$st" -ne 0 ] && [ "$st" -ne 254 ] && [ "$st" -ne 1 ]; then
    cat "$T/out" "$T/err" >&2
    fail "$1: exited $st"
  fi
  host_unchanged "$1"
  if [ "$st" -eq 0 ]; then
    ok "$1: ran inside the rootfs; host untouched"
  else
    [ -s "$T/err" ] || fail "$1: refused without a message"
    ok "$1: refused ($st): $(grep -v -e '^\[' -e '^ferry: warning:' "$T/err" | head -1 | cut -c1-120); host untouched"
  fi
}
writer='{"exec":["/bin/sh","-c","echo pwned >/data/x; echo pwned >/dev/pts/x; echo pwned >/dev/shm/x; echo pwned >/dev/mqueue/x; exit 0"],"user":"0","group":"0","mountPoints":[{"name":"data","path":"/data"}]}'

# /dev/pts, /dev/shm and /dev/mqueue out of the rootfs (absolute and relative).
for kind in abs rel; do
  base=$C/target
  [ $kind = rel ] && base=$rel/target
  img=$(hostile_image "dev-$kind" "$writer" "mkdir -p dev data && ln -s '$base' dev/pts && ln -s '$base' dev/shm && ln -s '$base' dev/mqueue")
  run_pod "dev-$kind" --volume data,kind=empty "$img"
  judge "/dev/pts, /dev/shm, /dev/mqueue -> $kind host dir"
done

# A mount point through a chain of relative symlinks: /data -> a/b, a -> x, x/b -> ../y/c,
# y/c -> (20 × ..)/canary/target.
chain="mkdir -p x y && ln -s a/b data && ln -s x a && ln -s ../y/c x/b && ln -s '$rel/target' y/c"
img=$(hostile_image chain "$writer" "$chain")
run_pod "chain" --volume data,kind=empty "$img"
judge "mount point through a 3-symlink chain, empty volume"
run_pod "chain-host" --volume "data,kind=host,source=$T/hostvol" "$img"
judge "mount point through a 3-symlink chain, host volume"
[ ! -e "$C/target/x" ] || fail "the volume landed on the host's directory"

# Mount points through the pod's procfs magic links, and onto /proc/sys/kernel (where the
# volume may hide the kernel's files, but a write must land in the volume, never the kernel).
burst=$(cat /proc/sys/kernel/printk_ratelimit_burst)
for target in "/proc/1/root$C/target" "/proc/self/root$C/target" "/proc/self/cwd" "/proc/sys/kernel"; do
  name=proc-$(echo "$target" | tr -c 'a-z0-9\n' - | cut -c1-30)
  img=$(hostile_image "$name" '{"exec":["/bin/sh","-c","echo pwned >/data/x; /probe/probe write /proc/sys/kernel/printk_ratelimit_burst '"$burst"'; exit 0"],"user":"0","group":"0","mountPoints":[{"name":"data","path":"/data"}]}' "ln -s '$target' data")
  run_pod "$name" --volume "data,kind=host,source=$T/hostvol" "$img"
  judge "mount point /data -> $target, host volume"
  if grep -q '^ok /proc/sys' "$T/out" && [ "$(cat "$T/hostvol/printk_ratelimit_burst" 2>/dev/null)" != "$burst" ]; then
    fail "$target: the pod wrote the kernel's /proc/sys: $(cat "$T/out")"
  fi
  rm -f "$T/hostvol/x" "$T/hostvol/printk_ratelimit_burst"
done
echo "escape.image_symlinks: $checks checks passed"
