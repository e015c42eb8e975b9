#!/usr/bin/env bash
# Shocker (2014): open_by_handle_at(2) with a forged handle of inode 2 opens the root directory of
# whatever file system holds the mount fd, and from there any host file. A pod holds such fds on
# the host's file system: a host volume, the bound /etc/hosts, and with --no-overlay its whole
# rootfs. With the default capabilities (no CAP_DAC_READ_SEARCH) the default filter and the
# kernel both refuse it, and name_to_handle_at(2) is refused too. Checked: the default pod, the
# pod without a filter (the capability alone refuses), --no-overlay, and the control: when the
# operator grants CAP_DAC_READ_SEARCH the same probe lists the host file system's root, so the
# refusals above are what keeps the host out.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

mkdir -p "$T/hostvol"
script='for m in /vol /etc/hosts /; do /probe/sys open-by-handle $m; done; /probe/sys name-to-handle /vol; exit 0'
app=$(jq -cn --arg s "$script" '{exec:["/bin/sh","-c",$s],user:"0",group:"0",mountPoints:[{name:"vol",path:"/vol"}]}')
img=$(hostile_image shocker "$app")
vol=(--volume "vol,kind=host,source=$T/hostvol")

check_refused() { # WHAT
  [ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "$1: the pod exited $st"; }
  if grep -q '^ok open_by_handle_at' "$T/out"; then
    cat "$T/out" >&2
    fail "$1: open_by_handle_at opened a host file system's root"
  fi
  [ "$(grep -c '^denied open_by_handle_at' "$T/out")" -eq 3 ] || { cat "$T/out" >&2; fail "$1: want three refusals"; }
  ok "$1: open_by_handle_at refused on /vol, /etc/hosts and / ($(grep -m1 '^denied open_by_handle_at' "$T/out" | sed 's/.*(//; s/)$//'))"
}
run_pod "default" "${vol[@]}" --hosts-entry 192.0.2.1=canary "$img"
check_refused "default capabilities and filter"
grep -q '^denied name_to_handle_at' "$T/out" || { cat "$T/out" >&2; fail "name_to_handle_at was not refused"; }
ok "name_to_handle_at refused"
run_pod "no filter" "${vol[@]}" --hosts-entry 192.0.2.1=canary "$img" --seccomp=mode=retain,@appc.io/all
check_refused "without a seccomp filter (the capability alone)"
run_pod "no overlay" --no-overlay "${vol[@]}" --hosts-entry 192.0.2.1=canary "$img"
check_refused "--no-overlay"
host_unchanged "Shocker"

# Control: with CAP_DAC_READ_SEARCH the forged handle opens the root of the host file system that
# holds the volume (ext4 and xfs use the handle layout the probe forges); in a user namespace
# (the suite's second run) the grant is the namespace's, and on kvm the guest's kernel's: the
# handle stays refused.
fstype=$(stat -f -c %T "$T/hostvol")
if escape_userns; then
  # In a user namespace the capability is the namespace's: open_by_handle_at wants it in the
  # host's, so even the grant leaves the handle refused (the wall --private-users adds).
  run_pod "CAP_DAC_READ_SEARCH in a user namespace" "${vol[@]}" --hosts-entry 192.0.2.1=canary "$img" \
    --caps-retain=CAP_DAC_READ_SEARCH,CAP_SYS_CHROOT
  check_refused "CAP_DAC_READ_SEARCH granted, in a user namespace"
  host_unchanged "Shocker with CAP_DAC_READ_SEARCH in a user namespace"
elif [ "${FERRY_STAGE1:-}" = kvm ]; then
  # A kvm pod's file systems are its guest kernel's: the volume, /etc/hosts and the rootfs are
  # the share (virtiofs or 9p), no file system of the host's, so the capability, the guest's,
  # opens nothing of the host's either (the wall a separate kernel adds).
  run_pod "CAP_DAC_READ_SEARCH in a kvm guest" "${vol[@]}" --hosts-entry 192.0.2.1=canary "$img" \
    --caps-retain=CAP_DAC_READ_SEARCH,CAP_SYS_CHROOT
  check_refused "CAP_DAC_READ_SEARCH granted, in a kvm guest"
  host_unchanged "Shocker with CAP_DAC_READ_SEARCH in a kvm guest"
elif [ "$fstype" = ext2/ext3 ] || [ "$fstype" = xfs ]; then
  run_pod "CAP_DAC_READ_SEARCH" "${vol[@]}" "$img" --caps-retain=CAP_DAC_READ_SEARCH,CAP_SYS_CHROOT
  root=$(df --output=target "$T/hostvol" | tail -1)
  line=$(grep -m1 '^ok open_by_handle_at: inode 2 of /vol' "$T/out") || { cat "$T/out" "$T/err" >&2; fail "control: no open_by_handle_at with CAP_DAC_READ_SEARCH"; }
  for n in $(ls -A "$root" | head -5); do
    case " $line " in *" $n "*) ;; *) fail "control: the listing misses $root/$n: $line" ;; esac
  done
  ok "control: with CAP_DAC_READ_SEARCH the probe lists the host's $root (the refusals above are real)"
else
  echo "# control skipped: $T is on $fstype, not ext4 or xfs"
fi
echo "escape.shocker: $checks checks passed"
