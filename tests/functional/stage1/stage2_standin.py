#!/usr/bin/env python3
"""A stand-in for ferry-stage2, used by the stage1 tests only while the real one is not built:
`stage2_standin.py [--event pre-start|post-stop] BUNDLE` chroots into BUNDLE/rootfs and execs
process.args (or the event's handler) with process.env and process.cwd. No mounts, users,
capabilities or seccomp: it exercises the stage1 and the pod init, nothing of stage2."""
import json
import os
import sys

args = sys.argv[1:]
event = None
if args and args[0] == "--event":
    event, args = args[1], args[2:]
bundle = args[0]
with open(os.path.join(bundle, "config.json")) as f:
    config = json.load(f)
process = config["process"]
argv = process["args"]
if event is not None:
    handler = config.get("annotations", {}).get("dev.ferry.event." + event)
    if handler is None:
        sys.exit(0)
    argv = json.loads(handler)
env = dict(e.split("=", 1) for e in process.get("env", []))
os.chroot(os.path.join(bundle, config["root"]["path"]))
os.chdir(process.get("cwd", "/"))
try:
    os.execvpe(argv[0], argv, env)
except OSError as e:
    sys.stderr.write("stage2-standin: cannot execute %s: %s\n" % (argv[0], e.strerror))
    sys.exit(254)
