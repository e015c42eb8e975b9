#!/usr/bin/env python3
"""Writes one image layer (a gzip tar, byte for byte the same on every run) for tests and
benchmarks; tests/tools/mklayout.py turns layers into an OCI layout.

Usage:
  mklayer.py OUT.tar.gz data SEED RANDOM_MB TEXT_MB [SMALL_FILES]
      d<SEED>/random-N   incompressible files (at most 8 MB each) adding up to RANDOM_MB
      d<SEED>/text-N     compressible text (hex lines, words) adding up to TEXT_MB
      d<SEED>/small/f-N  SMALL_FILES files of a few hundred bytes (default 0)
      MB may be fractional (0.5). Content comes from random.Random(SEED): reproducible.
  mklayer.py OUT.tar.gz hostile KIND
      KIND: dotdot   a member named ../ferry-escape
            absolute a member named /tmp/ferry-escape
            symlink  a symlink esc -> /tmp, then a file esc/ferry-escape written through it
            device   a character device dev/ferry-null (1,3)
"""
import gzip
import io
import random
import sys
import tarfile

MTIME = 1700000000
CHUNK = 8 << 20


def info(name, size=0, kind=tarfile.REGTYPE, mode=0o644):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.size = size
    t.mode = mode
    t.mtime = MTIME
    t.uid = t.gid = 0
    t.uname = t.gname = "root"
    return t


def text(rng, n):
    words = [rng.randbytes(rng.randint(2, 6)).hex() for _ in range(512)]
    out, size = [], 0
    while size < n:
        line = f"{size:012d} {rng.randbytes(8).hex()} " + " ".join(rng.choices(words, k=8)) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def data_layer(tar, seed, random_mb, text_mb, small):
    rng = random.Random(seed)
    top = f"d{seed}"
    tar.addfile(info(top + "/", kind=tarfile.DIRTYPE, mode=0o755))
    for prefix, total, make in (("random", random_mb, rng.randbytes),
                                ("text", text_mb, lambda n: text(rng, n))):
        left, i = int(total * (1 << 20)), 0
        while left > 0:
            n = min(left, CHUNK)
            tar.addfile(info(f"{top}/{prefix}-{i}", n), io.BytesIO(make(n)))
            left -= n
            i += 1
    if small:
        tar.addfile(info(top + "/small/", kind=tarfile.DIRTYPE, mode=0o755))
        for i in range(small):
            b = text(rng, rng.randint(100, 900))
            tar.addfile(info(f"{top}/small/f-{i}", len(b)), io.BytesIO(b))


def hostile_layer(tar, kind):
    payload = b"ferry must never write this\n"
    if kind == "dotdot":
        tar.addfile(info("../ferry-escape", len(payload)), io.BytesIO(payload))
    elif kind == "absolute":
        tar.addfile(info("/tmp/ferry-escape", len(payload)), io.BytesIO(payload))
    elif kind == "symlink":
        s = info("esc", kind=tarfile.SYMTYPE, mode=0o777)
        s.linkname = "/tmp"
        tar.addfile(s)
        tar.addfile(info("esc/ferry-escape", len(payload)), io.BytesIO(payload))
    elif kind == "device":
        tar.addfile(info("dev/", kind=tarfile.DIRTYPE, mode=0o755))
        d = info("dev/ferry-null", kind=tarfile.CHRTYPE, mode=0o666)
        d.devmajor, d.devminor = 1, 3
        tar.addfile(d)
    else:
        sys.exit(f"mklayer.py: unknown hostile kind {kind!r}")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, what, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if what == "data":
            data_layer(tar, int(args[0]), float(args[1]), float(args[2]),
                       int(args[3]) if len(args) > 3 else 0)
        elif what == "hostile":
            hostile_layer(tar, args[0])
        else:
            sys.exit(__doc__)
    with open(out, "wb") as f:
        f.write(gzip.compress(buf.getvalue(), compresslevel=1, mtime=0))


if __name__ == "__main__":
    main()
