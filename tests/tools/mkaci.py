#!/usr/bin/env python3
"""Writes a small gzip-compressed ACI for functional tests (Python's tarfile, a peer writer).

    mkaci.py OUT NAME [--label NAME=VALUE]... [--dep JSON]... [--content TEXT] [--hostile]

The manifest has NAME, the labels in the order given and the dependencies given as JSON objects
(appc "dependencies" items). The rootfs holds /hello with TEXT (default: NAME), so images that
differ only in TEXT have different IDs. --hostile adds an entry "rootfs/../../escaped" that
tries to leave the image.
"""
import argparse
import io
import json
import tarfile


def add(tar, name, data=None, kind=tarfile.REGTYPE, mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1700000000
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--dep", action="append", default=[])
    p.add_argument("--content")
    p.add_argument("--hostile", action="store_true")
    a = p.parse_args()
    manifest = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": a.name}
    if a.label:
        manifest["labels"] = [
            {"name": k, "value": v} for k, v in (l.split("=", 1) for l in a.label)
        ]
    if a.dep:
        manifest["dependencies"] = [json.loads(d) for d in a.dep]
    with tarfile.open(a.out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "manifest", json.dumps(manifest, indent=2).encode())
        add(tar, "rootfs", kind=tarfile.DIRTYPE, mode=0o755)
        add(tar, "rootfs/hello", ((a.content or a.name) + "\n").encode())
        if a.hostile:
            add(tar, "rootfs/../../escaped", b"escaped\n")


if __name__ == "__main__":
    main()
