#!/usr/bin/env python3
"""Writes an OCI image layout from layer tar files, for tests that need layers no tool makes.

Usage: mklayout.py DIR REF LAYER.tar[.gz]...  (layers bottom first; .gz files are gzip layers)
The config has linux/amd64, Cmd ["/bin/sh"], and the layers' diff_ids (WRONG_DIFF_ID=N in the
environment: layer N's entry is the sha256 of other bytes, for tests of the diff_id check).
"""
import gzip
import hashlib
import json
import os
import sys


def put(root, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    root, ref, layers = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descs, diff_ids = [], []
    for path in layers:
        raw = open(path, "rb").read()
        gz = path.endswith(".gz")
        plain = gzip.decompress(raw) if gz else raw
        diff_ids.append("sha256:" + hashlib.sha256(plain).hexdigest())
        d = put(root, raw)
        d["mediaType"] = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
        descs.append(d)
    wrong = os.environ.get("WRONG_DIFF_ID")
    if wrong is not None:
        diff_ids[int(wrong)] = "sha256:" + hashlib.sha256(b"not this layer").hexdigest()
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    c = put(root, json.dumps(config).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": c, "layers": descs}
    m = put(root, json.dumps(manifest).encode())
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    m["annotations"] = {"org.opencontainers.image.ref.name": ref}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [m]}, f)


if __name__ == "__main__":
    main()
