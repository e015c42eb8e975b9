#!/usr/bin/env python3
"""watchdog.py OWNER PID...: SIGTERM (then SIGKILL after 5 s) every PID once OWNER is gone.
Exits as soon as all PIDs are gone. Started by the service scripts when SERVICES_OWNER_PID is
set, so a test killed before its cleanup trap still leaves nothing running."""
import os
import signal
import sys
import time


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    owner = int(sys.argv[1])
    pids = [int(p) for p in sys.argv[2:]]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while alive(owner):
        if not any(alive(p) for p in pids):
            return
        time.sleep(0.5)
    for p in pids:
        if alive(p):
            os.kill(p, signal.SIGTERM)
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for p in pids:
        if alive(p):
            os.kill(p, signal.SIGKILL)


if __name__ == "__main__":
    main()
