#!/usr/bin/env bash
# Extraction escapes across OCI layers, through fetch and run (functional/convert_hostile.sh and
# the layer unit tests cover single archives): a lower layer plants a symlink to a host directory
# (absolute, and relative with enough ..), and an upper layer then writes a file through it,
# whites out a host file through it (.wh.NAME), makes it opaque (.wh..wh..opq), hard-links a host
# file through it, or hard-links one by ../ climbing; also a directory of a lower layer that an
# upper layer replaces by such a symlink before a third layer writes below it. Each image is
# either refused with one line or runs with everything landing inside the rootfs; the host's
# canary files stay byte for byte as they were.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

echo second >"$C/other"
treesum "$C" >"$T/canary.before"
up=$(printf '../%.0s' {1..20})
rel=${up}${C#/}

# add_case WHAT LAYER-SPECS...: one image, its layers separated by --; a spec is file:NAME,
# dir:NAME, sym:NAME:TARGET or hard:NAME:TARGET (the first layer also gets bin/busybox and
# bin/sh). All images are written by one python3 at the end (python starts slowly here).
cases=()
add_case() {
  local what=$1
  shift
  cases+=("$what")
  printf '%s\n' "$*" >>"$T/cases"
}
build_cases() {
  python3 - "$T" "$TOOLS" <<'PY'
import io, os, sys, tarfile
root, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import mklayout
for n, line in enumerate(open(os.path.join(root, "cases"))):
    d = os.path.join(root, "layout-%d" % n)
    os.makedirs(d)
    layers = []
    for i, specs in enumerate(" ".join(line.split()).split(" -- ")):
        out = os.path.join(d, "l%d.tar" % i)
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
            if i == 0:
                t.add("/bin/busybox", "bin/busybox")
                s = tarfile.TarInfo("bin/sh"); s.type = tarfile.SYMTYPE; s.linkname = "busybox"; t.addfile(s)
            for spec in specs.split():
                kind, _, rest = spec.partition(":")
                name, _, target = rest.partition(":")
                m = tarfile.TarInfo(name)
                if kind == "file":
                    m.size = 6; t.addfile(m, io.BytesIO(b"pwned\n")); continue
                if kind == "dir":
                    m.type = tarfile.DIRTYPE; m.mode = 0o755
                elif kind == "sym":
                    m.type = tarfile.SYMTYPE; m.linkname = target
                elif kind == "hard":
                    m.type = tarfile.LNKTYPE; m.linkname = target
                t.addfile(m)
        layers.append(out)
    sys.argv = ["mklayout.py", os.path.join(d, "layout"), "x"] + layers
    mklayout.main()
PY
}

for kind in abs rel; do
  tgt=$C
  [ $kind = rel ] && tgt=$rel
  add_case "$kind symlink, then a file through it" "sym:esc:$tgt" -- "file:esc/pwned"
  add_case "$kind symlink, then a whiteout through it" "sym:esc:$tgt" -- "file:esc/.wh.file"
  add_case "$kind symlink, then an opaque whiteout through it" "sym:esc:$tgt" -- "file:esc/.wh..wh..opq"
  add_case "$kind symlink, then a hard link through it" "sym:esc:$tgt" -- "hard:h:esc/file"
  add_case "$kind symlink, then a directory of it hard-linked" "sym:esc:$tgt" -- "hard:esc/new:esc/file"
  add_case "a directory replaced by a $kind symlink, then a file below it" "dir:d/" -- "sym:d:$tgt" -- "file:d/pwned"
done
add_case "a hard link climbing out with ../" "file:a" -- "hard:h:${up}${C#/}/file"
add_case "a whiteout climbing out with ../" "file:a" -- "file:${up}${C#/}/.wh.file"
build_cases
for n in "${!cases[@]}"; do
  what=${cases[$n]}
  run_pod "$what" "oci:$T/layout-$n/layout:x"
  if [ "$st" -ne 0 ] && [ "$st" -ne 254 ]; then cat "$T/out" "$T/err" >&2; fail "$what: exited $st"; fi
  host_unchanged "$what"
  msg=$(grep -v '^\[' "$T/err" | head -1)
  if [ "$st" -eq 0 ]; then ok "$what: ran; everything stayed in the rootfs"; else ok "$what: refused: …${msg: -90}"; fi
done
echo "escape.layer_escapes: $checks checks passed"
