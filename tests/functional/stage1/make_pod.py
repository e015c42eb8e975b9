#!/usr/bin/env python3
"""Builds a pod directory by hand, as stage1/ABI.md §1-§3 describe what stage0 writes, so that
the stage1 tests can drive a stage1's entrypoints directly.

make_pod.py --pod DIR --uuid UUID [--net host|none|default] [--stop-timeout S]
            [--pod-resources JSON] [--stage2 PATH] [--hostname NAME] [--interactive]
            [--mds SOCKET,TOKEN,PORT]
            --app NAME --tree DIR --exec JSON-ARGV [--env K=V]... [--cwd DIR]
                  [--resources JSON] [--pre-start JSON-ARGV] [--post-stop JSON-ARGV]
                  [--user UID:GID]
            [--app NAME ...]
Options after an --app apply to that app. With --mds the pod directory also gets what the
metadata service registration reads (ABI §6): `pod` and each apps/<app>/manifest, and every app
AC_METADATA_URL.
"""
import json
import os
import sys

POD_KEYS = {"--pod", "--uuid", "--net", "--stop-timeout", "--pod-resources", "--stage2",
            "--hostname", "--mds"}
APP_KEYS = {"--tree", "--exec", "--env", "--cwd", "--resources", "--pre-start", "--post-stop",
            "--user"}


def config_json(app, mds):
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "AC_APP_NAME=" + app["name"], "container=ferry"] + app["env"]
    if mds is not None:
        env.append("AC_METADATA_URL=http://127.0.0.1:%d/%s" % (mds["port"], mds["token"]))
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": int(app["user"].split(":")[0]), "gid": int(app["user"].split(":")[1])},
            "args": app["exec"],
            "env": env,
            "cwd": app["cwd"],
        },
        "root": {"path": "rootfs", "readonly": False},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        ],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                                 {"type": "mount"}]},
        "annotations": {"dev.ferry.app.name": app["name"]},
    }
    if app["resources"] is not None:
        config["linux"]["resources"] = app["resources"]
    for event in ("pre-start", "post-stop"):
        if app[event] is not None:
            config["annotations"]["dev.ferry.event." + event] = json.dumps(app[event])
    return config


def main(argv):
    pod = {"net": "default", "stop-timeout": 10, "pod-resources": None, "stage2": "",
           "hostname": "", "interactive": False, "mds": None}
    apps = []
    i = 0
    while i < len(argv):
        key = argv[i]
        if key == "--interactive":
            pod["interactive"] = True
            i += 1
            continue
        if i + 1 >= len(argv):
            sys.exit("make_pod.py: %s needs a value" % key)
        value = argv[i + 1]
        i += 2
        if key == "--app":
            apps.append({"name": value, "tree": None, "exec": None, "env": [], "cwd": "/", "user": "0:0",
                         "resources": None, "pre-start": None, "post-stop": None})
        elif key in APP_KEYS and apps:
            name = key[2:]
            if name in ("exec", "resources", "pre-start", "post-stop"):
                apps[-1][name] = json.loads(value)
            elif name == "env":
                apps[-1]["env"].append(value)
            else:
                apps[-1][name] = value
        elif key in POD_KEYS:
            if key == "--pod-resources":
                value = json.loads(value)
            elif key == "--mds":
                sock, token, port = value.split(",")
                value = {"socket": os.path.abspath(sock), "token": token, "port": int(port)}
            pod[key[2:]] = value
        else:
            sys.exit("make_pod.py: unknown or misplaced option " + key)
    d = pod["pod"]
    for sub in ("apps", "status", "logs"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    open(os.path.join(d, "lock"), "a").close()
    runtime = {
        "ferryRuntimeVersion": 1,
        "uuid": pod["uuid"],
        "hostname": pod["hostname"],
        "net": pod["net"],
        "interactive": pod["interactive"],
        "stopTimeoutSeconds": int(pod["stop-timeout"]),
        "debug": False,
        "stage2": pod["stage2"],
        "init": "",
        "mds": pod["mds"],
        "podResources": pod["pod-resources"],
        "apps": [{"name": a["name"], "image": "sha512-test", "tree": os.path.abspath(a["tree"]),
                  "readOnlyRootfs": False} for a in apps],
    }
    with open(os.path.join(d, "runtime.json"), "w") as f:
        json.dump(runtime, f, indent=2)
    for a in apps:
        if a["tree"] is None or a["exec"] is None:
            sys.exit("make_pod.py: app %s needs --tree and --exec" % a["name"])
        appdir = os.path.join(d, "apps", a["name"])
        os.makedirs(os.path.join(appdir, "rootfs"), exist_ok=True)
        with open(os.path.join(appdir, "config.json"), "w") as f:
            json.dump(config_json(a, pod["mds"]), f, indent=2)
        if pod["mds"] is not None:
            manifest = {"acKind": "ImageManifest", "acVersion": "0.8.11",
                        "name": "example.com/" + a["name"],
                        "labels": [{"name": "os", "value": "linux"},
                                   {"name": "arch", "value": "amd64"}],
                        "app": {"exec": a["exec"], "user": "0", "group": "0"}}
            with open(os.path.join(appdir, "manifest"), "w") as f:
                json.dump(manifest, f, indent=2)
    if pod["mds"] is not None:
        manifest = {"acKind": "PodManifest", "acVersion": "0.8.11",
                    "apps": [{"name": a["name"],
                              "image": {"name": "example.com/" + a["name"],
                                        "id": "sha512-" + "0" * 128}} for a in apps]}
        with open(os.path.join(d, "pod"), "w") as f:
            json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
