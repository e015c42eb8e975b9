#!/usr/bin/env bash
# The ns pod init without an exec of its own (stage1/ABI.md §4, §5): stage0 executes the run
# entrypoint from a read-only clone of its directory, and run's child — the pod's PID 1 — runs
# the init's loop itself. Seen from the host while a pod runs: PID 1's executable is run's file,
# on a read-only mount, and neither it nor a reopening of an O_PATH descriptor of it
# (CVE-2019-5736's way) can be written; its command line is "ferry-init", its environment
# empty, its name ferry-init; it shares no open file that run holds close-on-exec (what an exec
# would have closed is closed: the control and report pipes, run's signalfd…; the lock stays). The app is the
# init's child and starts as usual. Run by hand (not through stage0) the entrypoint is not
# sealed and execs ferry-init as before: stage1_ns_* and pods_shell test that path.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
[ -z "${FERRY_STAGE1:-}" ] || skip "the ns stage1's own start"

F run "$BB" >/dev/null 2>&1 || true  # the image in the store, its tree rendered
F run "$BB" --exec /bin/sh -- -c 'echo started; exec sleep 30' >"$T/app.out" 2>"$T/app.err" &
bg+=($!)
uuid_running() { uuid=$(F --format=json list | jq -r '.[] | select(.state == "running") | .name' | head -1) && [ -n "$uuid" ]; }
wait_for "a running pod" uuid_running
P=$D/pods/run/$uuid
wait_for "the app's start" grep -qx started "$T/app.out"
init=$(cat "$P/pid")
run=$(awk '{print $4}' "/proc/$init/stat")

python3 - "$init" "$run" "$NS/bin/run" <<'PY' || fail "the pod init (see above)"
import ctypes, errno, os, sys
init, run, entry = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bad = []
exe, own = os.stat(f"/proc/{init}/exe"), os.stat(entry)
if (exe.st_dev, exe.st_ino) != (own.st_dev, own.st_ino):
    bad.append(f"PID 1 runs {os.readlink(f'/proc/{init}/exe')}, not the run entrypoint {entry}")
if not os.statvfs(f"/proc/{init}/exe").f_flag & os.ST_RDONLY:
    bad.append("PID 1's executable is on a writable mount")
for how in ("open", "reopen"):
    try:
        if how == "open":
            fd = os.open(f"/proc/{init}/exe", os.O_WRONLY)
        else:
            p = os.open(f"/proc/{init}/exe", os.O_PATH)
            fd = os.open(f"/proc/self/fd/{p}", os.O_RDWR)
        bad.append(f"PID 1's executable opened for writing ({how})")
        os.close(fd)
    except OSError as e:
        if e.errno not in (errno.EROFS, errno.ETXTBSY):
            bad.append(f"PID 1's executable, {how} for writing: {e}")
cmdline = open(f"/proc/{init}/cmdline", "rb").read()
if cmdline != b"ferry-init\0":
    bad.append(f"/proc/1/cmdline is {cmdline!r}")
environ = open(f"/proc/{init}/environ", "rb").read().strip(b"\0")
if environ:
    bad.append(f"/proc/1/environ names {environ[:200]!r}")
comm = open(f"/proc/{init}/comm").read().strip()
if comm != "ferry-init":
    bad.append(f"PID 1 is named {comm}")
# kcmp(KCMP_FILE): whether two descriptors are the same open file.
libc = ctypes.CDLL(None, use_errno=True)
def same(fd1, fd2):
    args = (312, init, run, 0, fd1, fd2)  # SYS_kcmp, KCMP_FILE
    return libc.syscall(*(ctypes.c_long(a) for a in args)) == 0
fds = lambda pid: sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
shared = []
for a in fds(init):
    if a <= 2:
        continue
    for b in fds(run):
        if not same(a, b):
            continue
        # Inherited across an exec too (run holds it without close-on-exec, as the lock)?
        flags = [l for l in open(f"/proc/{run}/fdinfo/{b}") if l.startswith("flags:")]
        if int(flags[0].split()[1], 8) & os.O_CLOEXEC:
            shared.append(f"{a} -> {os.readlink(f'/proc/{init}/fd/{a}')}")
if shared:
    bad.append("PID 1 holds run's descriptors: " + ", ".join(shared))
app = [int(p) for p in open(f"/proc/{init}/task/{init}/children").read().split()]
if not app or os.path.basename(os.readlink(f"/proc/{app[0]}/exe")) != "busybox":
    bad.append(f"the app is not PID 1's child: {app}")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
ok "PID 1 is run's child with run's sealed executable, ferry-init's command line, no environment, none of run's close-on-exec descriptors"

F stop "$uuid" >/dev/null
wait "${bg[0]}" || true
grep -qx started "$T/app.out" || fail "the app's output: $(cat "$T/app.out" "$T/app.err")"
expect_status 0 F run "$BB" --exec /bin/sh -- -c 'exit 0'
expect_status 7 F run "$BB" --exec /bin/sh -- -c 'exit 7'
ok "the init's exit status is the app's (0, 7)"
