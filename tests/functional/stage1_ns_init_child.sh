#!/usr/bin/env bash
# What a child of the pod init holds while stage2 prepares its app or event handler (the init
# runs stage2 in that child, no ferry-stage2 exec: stage2/init/pod_init.hpp). The app's
# config.json is a FIFO that this test serves: each process that opens it waits for the test to
# write, and the test looks at the one that is a child of the pod init (stage2 reading its
# bundle, the first thing it does) before it answers. It must hold stdin, stdout, stderr and that
# FIFO, nothing of the init's (the pod directory, the init's pipes, signalfd, timerfd, logs:
# close-on-exec, which was enough only while an execve came next), and no signal blocked,
# ignored or caught. Both the pre-start handler's child and the app's are checked; then the pod
# runs to its end as usual.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"
P=$T/pod
new_pod "$P" --app main --tree "$T/tree" --exec '["sh","-c","echo app-ran"]' \
  --pre-start '["sh","-c","echo pre-ran"]'
C=$P/apps/main/config.json
cp "$C" "$T/config.json"
rm "$C"
mkfifo -m 0640 "$C"

# Serves the FIFO until both children of the init read it (or 30 s); prints one line per such
# child: "child FDS SIGBLK SIGIGN SIGCGT", FDS the descriptors other than the FIFO's, with what
# each names.
python3 - "$C" "$T/config.json" <<'PY' >"$T/children" 2>"$T/serve.err" &
import os, signal, sys, time
fifo, config = sys.argv[1], open(sys.argv[2], "rb").read()
signal.alarm(30)
st = os.stat(fifo)

def readers():
    """The processes that hold the FIFO open (read end)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                s = os.stat(f"/proc/{pid}/fd/{fd}")
                if (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino):
                    out.append((int(pid), int(fd)))
        except OSError:
            pass
    return out

def exe(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return "?"

def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return line.split()[1]

seen = 0
while seen < 2:
    w = os.open(fifo, os.O_WRONLY)  # a reader is in its open(2) now
    found = []
    for _ in range(400):  # until its descriptor is in its table
        found = [r for r in readers() if r[0] != os.getpid()]
        if found:
            break
        time.sleep(0.005)
    for pid, fifo_fd in found:
        ppid = int(status(pid, "PPid"))
        if exe(ppid) != "ferry-init":
            continue
        fds = []
        for fd in sorted(map(int, os.listdir(f"/proc/{pid}/fd"))):
            if fd != fifo_fd:
                try:
                    fds.append(f"{fd}={os.readlink(f'/proc/{pid}/fd/{fd}')}")
                except OSError:
                    fds.append(f"{fd}=?")
        print("child", ",".join(fds), status(pid, "SigBlk"), status(pid, "SigIgn"),
              status(pid, "SigCgt"), flush=True)
        seen += 1
    os.write(w, config)
    os.close(w)
    # Until the reader is done: an open for writing while it still reads would write into its
    # stream again.
    while any(r in found for r in readers()):
        time.sleep(0.005)
PY
server=$!
set +e
run_pod "$P"
code=$?
set -e
wait "$server" || { cat "$T/serve.err" >&2; fail "the FIFO server failed ($(cat "$T/children"))"; }
[ "$code" -eq 0 ] || { cat "$P.err" >&2; fail "the pod exited $code"; }
grep -qx pre-ran "$P/logs/main.log" && grep -qx app-ran "$P/logs/main.log" ||
  fail "the handler or the app did not run: $(cat "$P/logs/main.log")"
ok "a pod whose config.json is served through a FIFO runs its handler and its app"

[ "$(grep -c '^child ' "$T/children")" -eq 2 ] || fail "want 2 children of the init: $(cat "$T/children")"
while read -r _ fds blk ign cgt; do
  # 0 is /dev/null, 1 and 2 the init's pipes for the app's output.
  [[ $fds =~ ^0=/dev/null,1=pipe:\[[0-9]+\],2=pipe:\[[0-9]+\]$ ]] ||
    fail "a child of the init holds descriptors beyond stdio while stage2 runs: $fds"
  [ "$blk $ign $cgt" = "0000000000000000 0000000000000000 0000000000000000" ] ||
    fail "a child of the init has signals blocked, ignored or caught: $blk $ign $cgt"
done <"$T/children"
ok "stage2's children of the init (handler, app) hold stdio alone, no signal blocked, ignored or caught"
expect_clean "$P" "the pod"
