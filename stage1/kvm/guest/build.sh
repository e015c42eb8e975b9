#!/usr/bin/env bash
# build.sh OUT CACHE GUEST_INIT [POD_INIT STAGE2]: the kvm stage1's guest (stage1/ABI.md §4 "kvm"), built by the
# build into OUT (the flavor's guest/ directory):
#   vmlinux  Debian's kernel (linux-image-amd64), decompressed to a plain ELF image (TCG boots it
#            about twice as fast as the self-decompressing bzImage); kept in CACHE (shared with
#            tests/vm) and linked into OUT;
#   initrd   an uncompressed cpio: /init (GUEST_INIT, stage1/kvm/guest/init.cpp, static), the
#            modules the guest loads, dependencies first, in /modules/NN-name.ko, and the
#            stage1's ferry-init and ferry-stage2 (POD_INIT, STAGE2; static, stripped) in
#            /ferry: the guest runs these instead of the share's when the pod uses the stage1's
#            own (ferry.bin=1), saving their reads over virtiofs under TCG;
#   key      what both were built from: rebuilt when the kernel package, the guest's /init,
#            the module list or this script change; otherwise nothing is done.
# Without a usable kernel it writes OUT/MISSING (the reason; the run entrypoint says it) and
# exits 0: a machine without linux-image-amd64 still builds ferry.
set -euo pipefail
out=$1 cache=$2 guest_init=$3 pod_init=${4:-} stage2=${5:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
# shellcheck source=tests/vm/image.sh
source "$top/tests/vm/image.sh"
# virtiofs (and 9p, the fallback without virtiofsd), the channel's virtio-serial port.
VM_MODULES=(virtio_pci virtio_console virtiofs 9pnet_virtio 9p)
# Loaded only for a pod on networks (ferry.net=1), from /modules-net.
NET_MODULES=(virtio_net)

mkdir -p "$out"
missing() {
  echo "$*" >"$out/MISSING"
  rm -f "$out/vmlinux" "$out/initrd"
  [ "$(cat "$out/key" 2>/dev/null)" = missing ] || echo missing >"$out/key"
  echo "kvm guest: $*" >&2
  exit 0
}
command -v python3 >/dev/null || missing "python3 is not installed (dist/setup)"
command -v cpio >/dev/null || missing "cpio is not installed (dist/setup)"
command -v modinfo >/dev/null || missing "modinfo is not installed (kmod, dist/setup)"
kver=$(vm_kernel_version) || missing "no Debian kernel with modules in /boot (linux-image-amd64, dist/setup)"
kstamp=$(stat -c '%s-%Y' "/boot/vmlinuz-$kver" "/lib/modules/$kver/modules.dep" | tr '\n' ' ')
key="$kver $kstamp $(cat "$guest_init" ${pod_init:+"$pod_init"} ${stage2:+"$stage2"} "$0" | cksum | cut -d' ' -f1) ${VM_MODULES[*]} ${NET_MODULES[*]}"
if [ -s "$out/vmlinux" ] && [ -s "$out/initrd" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
mkdir -p "$cache"
(
  flock -x 9
  kernel=$cache/vmlinux-$kver
  if [ ! -s "$kernel" ] || [ "$kernel" -ot "/boot/vmlinuz-$kver" ]; then
    vm_extract_vmlinux "/boot/vmlinuz-$kver" "$kernel.tmp" || exit 1
    mv "$kernel.tmp" "$kernel"
  fi
  if [ ! "$kernel" -ef "$out/vmlinux" ]; then
    rm -f "$out/vmlinux.tmp"
    ln "$kernel" "$out/vmlinux.tmp" 2>/dev/null || cp "$kernel" "$out/vmlinux.tmp"
    mv "$out/vmlinux.tmp" "$out/vmlinux"
  fi
) 9>"$cache/.lock" || missing "cannot extract the kernel of /boot/vmlinuz-$kver"

root=$(mktemp -d "$out/initrd.root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{dev,proc,sys,root,podsrc,modules,modules-net}
strip --strip-all -o "$root/init" "$guest_init" 2>/dev/null || cp "$guest_init" "$root/init"
chmod 0755 "$root/init"
if [ -n "$pod_init" ] && [ -n "$stage2" ]; then
  mkdir -p "$root/ferry"
  strip --strip-all -o "$root/ferry/ferry-init" "$pod_init" 2>/dev/null || cp "$pod_init" "$root/ferry/ferry-init"
  strip --strip-all -o "$root/ferry/ferry-stage2" "$stage2" 2>/dev/null || cp "$stage2" "$root/ferry/ferry-stage2"
  chmod 0555 "$root/ferry/ferry-init" "$root/ferry/ferry-stage2"
fi
add_modules() { # DIR: VM_MODULES and their dependencies, in load order
  local files f i=0 dst
  files=$(vm_module_files "$kver") || missing "the modules of $kver are incomplete"
  for f in $files; do
    i=$((i + 1))
    dst=$1/$(printf '%02d' $i)-$(basename "$f")
    case $f in
      *.ko) cp "$f" "$dst" ;;
      *.ko.xz) xz -dc "$f" >"${dst%.xz}" ;;
      *.ko.zst) zstd -dcq "$f" >"${dst%.zst}" ;;
      *.ko.gz) gzip -dc "$f" >"${dst%.gz}" ;;
      *) missing "unknown module file $f" ;;
    esac
  done
}
add_modules "$root/modules"
# The network's: what /modules loaded already is left out.
base=" $(vm_module_files "$kver" | xargs -n1 basename | sed 's/\.ko.*//' | tr '\n' ' ')"
VM_MODULES=("${NET_MODULES[@]}")
add_modules "$root/modules-net"
for f in "$root"/modules-net/*; do
  m=$(basename "$f" .ko)
  case $base in *" ${m#*-} "*) rm -f "$f" ;; esac
done
# Uncompressed: the kernel copies it instead of inflating it instruction by instruction.
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc -R 0:0) >"$out/initrd.tmp"
mv "$out/initrd.tmp" "$out/initrd"
echo "$key" >"$out/key"
rm -f "$out/MISSING"
