#!/usr/bin/env python3
"""Compares two JSON documents (appc or OCI) for round-trip tests.

Usage: jsondiff.py A.json B.json [--report REPORT.json] [--ignore PATH]...
Lists of {"name":…,"value":…} items are compared as sets (appc labels/annotations are keyed by
name). A field whose JSON path is named by an ignore, or by a dropped/approximated loss in the
report (the "losses" of `ferry --format=json image convert`), may differ. Prints each difference; exits 1 if any.
"""
import json
import sys


def norm(v):
    if isinstance(v, list) and v and all(isinstance(x, dict) and set(x) == {"name", "value"} for x in v):
        return {"<nv>": sorted((x["name"], json.dumps(x["value"])) for x in v)}
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def diff(a, b, path, ignored, out):
    if path in ignored:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = "%s.%s" % (path, k) if path else k
            if k not in a:
                if p not in ignored:
                    out.append("%s: only in second: %s" % (p, json.dumps(b[k])[:200]))
            elif k not in b:
                if p not in ignored:
                    out.append("%s: only in first: %s" % (p, json.dumps(a[k])[:200]))
            else:
                diff(a[k], b[k], p, ignored, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), ignored, out)
    elif a != b:
        out.append("%s: %s != %s" % (path, json.dumps(a)[:200], json.dumps(b)[:200]))


def main():
    args = sys.argv[1:]
    files, ignored = [], set()
    while args:
        a = args.pop(0)
        if a == "--ignore":
            ignored.add(args.pop(0))
        elif a == "--report":
            with open(args.pop(0)) as f:
                rep = json.load(f)
            for loss in rep.get("losses", rep if isinstance(rep, list) else []):
                # "annotation" losses are kept verbatim and must survive a round trip.
                if loss["kind"] in ("dropped", "approximated"):
                    ignored.add(loss["field"])
        else:
            files.append(a)
    if len(files) != 2:
        sys.exit("usage: jsondiff.py A B [--report R] [--ignore PATH]...")
    docs = []
    for name in files:
        with open(name) as f:
            docs.append(norm(json.load(f)))
    out = []
    diff(docs[0], docs[1], "", ignored, out)
    for line in out:
        print(line)
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
