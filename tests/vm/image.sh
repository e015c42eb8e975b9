# The guest's boot files, built once and cached (sourced by run-in-vm; usable by other tests).
# vm_image CACHE_DIR sets VM_KERNEL (Debian's kernel, decompressed to a plain vmlinux: TCG boots
# it about twice as fast as the bzImage, which decompresses itself instruction by instruction)
# and VM_INITRD (busybox-static, the guest's /init and the modules the guest needs: 9p over
# virtio-pci, overlayfs, and their dependencies). Returns 1 with the reason on stderr when the
# machine has no usable kernel or busybox.
VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

vm_log() { echo "run-in-vm: $*" >&2; }

# The newest Debian kernel whose modules are installed.
vm_kernel_version() {
  local k v best=
  for k in /boot/vmlinuz-*; do
    [ -f "$k" ] || continue
    v=${k#/boot/vmlinuz-}
    [ -d "/lib/modules/$v/kernel" ] || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -1)" = "$v" ]; then
      best=$v
    fi
  done
  [ -n "$best" ] && echo "$best"
}

# Finds the compressed payload inside a bzImage (the extract-vmlinux way: each known magic,
# tried in order of offset) and writes the first that decompresses to an ELF image.
vm_extract_vmlinux() { # BZIMAGE OUT
  python3 - "$1" "$2" <<'EOF'
import gzip, lzma, subprocess, sys, zlib
data = open(sys.argv[1], "rb").read()
def unzstd(b):
    return subprocess.run(["zstd", "-dcq"], input=b, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
def unxz(b):
    return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(b)
def ungzip(b):
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b)
magics = [(b"\x1f\x8b\x08", ungzip), (b"\xfd7zXZ\x00", unxz), (b"(\xb5/\xfd", unzstd)]
found = []
for magic, fn in magics:
    at = data.find(magic)
    while at >= 0:
        found.append((at, fn))
        at = data.find(magic, at + 1)
for at, fn in sorted(found, key=lambda f: f[0]):
    try:
        out = fn(data[at:])
    except Exception:
        continue
    if out[:4] == b"\x7fELF":
        open(sys.argv[2], "wb").write(out)
        sys.exit(0)
sys.exit("no ELF payload found in " + sys.argv[1])
EOF
}

# The modules, dependencies first (modinfo -F depends, recursively); builtin ones are skipped.
vm_module_files() { # KVER
  local kver=$1 seen=" " order=()
  visit() {
    local m=$1 d file
    case "$seen" in *" $m "*) return 0 ;; esac
    seen+="$m "
    file=$(modinfo -k "$kver" -n "$m" 2>/dev/null) || { vm_log "no module $m for $kver"; return 1; }
    for d in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do visit "$d" || return 1; done
    case "$file" in /*) order+=("$file") ;; esac  # "(builtin)": nothing to load
  }
  local m
  for m in "${VM_MODULES[@]}"; do visit "$m" || return 1; done
  printf '%s\n' "${order[@]}"
}

vm_build_initrd() { # KVER OUT
  local kver=$1 out=$2 root f i=0
  root=$(mktemp -d "$out.root.XXXXXX")
  mkdir -p "$root"/{bin,dev,proc,sys,host,ctl,modules}
  cp /bin/busybox "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"
  cp "$VM_HERE/guest-init" "$root/init"
  chmod 0755 "$root/init"
  local files
  files=$(vm_module_files "$kver") || { rm -rf "$root"; return 1; }
  for f in $files; do
    i=$((i + 1))
    case $f in
      *.ko) cp "$f" "$root/modules/$(printf '%02d' $i)-$(basename "$f")" ;;
      *.ko.xz) xz -dc "$f" >"$root/modules/$(printf '%02d' $i)-$(basename "$f" .xz)" ;;
      *.ko.zst) zstd -dcq "$f" >"$root/modules/$(printf '%02d' $i)-$(basename "$f" .zst)" ;;
      *.ko.gz) gzip -dc "$f" >"$root/modules/$(printf '%02d' $i)-$(basename "$f" .gz)" ;;
      *) vm_log "unknown module file $f"; rm -rf "$root"; return 1 ;;
    esac
  done
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc) | gzip -1 >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$root"
}

vm_image() { # CACHE_DIR
  local cache=$1 kver key
  command -v python3 >/dev/null || { vm_log "python3 is not installed"; return 1; }
  command -v cpio >/dev/null || { vm_log "cpio is not installed (dist/setup)"; return 1; }
  command -v modinfo >/dev/null || { vm_log "modinfo is not installed (kmod, dist/setup)"; return 1; }
  [ -x /bin/busybox ] || { vm_log "busybox-static is not installed (dist/setup)"; return 1; }
  kver=$(vm_kernel_version) || { vm_log "no Debian kernel with modules in /boot (linux-image-amd64, dist/setup)"; return 1; }
  mkdir -p "$cache"
  # The initramfs changes with the guest's /init, the module list and busybox.
  key=$( (cat "$VM_HERE/guest-init"; echo "${VM_MODULES[*]}"; cksum </bin/busybox) | cksum | cut -d' ' -f1)
  VM_KERNEL=$cache/vmlinux-$kver
  VM_INITRD=$cache/initrd-$kver-$key.cpio.gz
  (
    flock -x 9
    if [ ! -s "$VM_KERNEL" ]; then
      vm_extract_vmlinux "/boot/vmlinuz-$kver" "$VM_KERNEL.tmp" || exit 1
      mv "$VM_KERNEL.tmp" "$VM_KERNEL"
    fi
    if [ ! -s "$VM_INITRD" ]; then
      rm -f "$cache"/initrd-*.cpio.gz
      vm_build_initrd "$kver" "$VM_INITRD" || exit 1
    fi
  ) 9>"$cache/.lock"
}
