#!/usr/bin/env bash
# Finding 2 of issue 9 (CVE-2019-5736's class): host binaries reachable for writing through
# /proc/<pid>/exe. A pod process holds the executable of a helper running in the pod's PID
# namespace with O_PATH and, once the helper is gone, reopens it for writing through
# /proc/self/fd/N (the exe probe: on a vulnerable build it writes back the byte that was there,
# so nothing changes, and says "ok wrote"). The helpers: the program that starts an app run as
# the app by a `#!/proc/self/exe` script (default capabilities: ferry-init itself on a flavor whose
# init runs stage2 in its forked child — ns, nspawn —, ferry-stage2 on fly), the real stage2 and
# the pod init
# (an app the operator granted CAP_SYS_PTRACE), and the stage1's enter helper run as a `ferry
# enter` command by the same script. Host side: every file of the ns stage1's bin/ keeps its
# sha256, and the pod init's root (/proc/1/root) shows no host file.
source "$(dirname "$0")/escape_lib.sh"
escape_setup
command -v python3 >/dev/null || skip "python3 is not installed"
sums() { (cd "$NS/bin" && sha256sum ./*) >"$T/bin.$1"; }
bin_unchanged() { # WHAT
  sums after
  diff -u "$T/bin.before" "$T/bin.after" >&2 || fail "$1: a file of the stage1's bin/ changed"
}
sums before

# judge WHAT: the exe probe's verdicts in $T/out: none may say "ok".
judge() {
  local what=$1
  if grep -E '^(ok|caught)' "$T/out" | grep -q '^ok'; then
    cat "$T/out" "$T/err" >&2
    fail "$what: $(grep '^ok' "$T/out" | head -1)"
  fi
  bin_unchanged "$what"
  host_unchanged "$what"
  ok "$what: $(grep -E '^(denied|missed)' "$T/out" | tr '\n' ';' | sed 's/;$//')"
}

# The pre-start handler leaves a watcher behind; the app's exec is a `#!/proc/self/exe` script
# (the helper that exec'd it, ferry-init or ferry-stage2, then runs itself as the app, and fails:
# it is no pod's PID 1, the script no bundle); the post-stop handler waits for the watcher's
# verdict. The watcher takes the first process whose name starts with "ferry-".
watcher='/probe/exe watch ferry- 10; touch /tmp/done'
handlers='"eventHandlers":[{"name":"pre-start","exec":["/bin/sh","-c","('"$watcher"') &"]},{"name":"post-stop","exec":["/bin/sh","-c","for i in $(seq 300); do [ -e /tmp/done ] \u0026\u0026 exit 0; sleep 0.05; done"]}]'
img=$(hostile_image selfexe '{"exec":["/x/script"],"user":"0","group":"0",'"$handlers"'}' \
  'mkdir -p x && printf "#!/proc/self/exe\n" >x/script && chmod 755 x/script')
for i in 1 2 3; do  # the script's helper lives for a moment: a few tries to catch it
  run_pod "#!/proc/self/exe" "$img"
  grep -q '^caught' "$T/out" && break
done
judge "#!/proc/self/exe as the app (default capabilities)"

# An app the operator granted CAP_SYS_PTRACE: the real stage2 (root) while it prepares the
# app, the pod init, and the init's root.
ptrace='/probe/exe pid1; /probe/probe read /proc/1/root'"$C"'/file; /probe/probe write /proc/1/root'"$C"'/pwned x; echo init root: $(ls /proc/1/root); '"$watcher"
handlers='"eventHandlers":[{"name":"pre-start","exec":["/bin/sh","-c","('"$ptrace"') &"]},{"name":"post-stop","exec":["/bin/sh","-c","for i in $(seq 300); do [ -e /tmp/done ] \u0026\u0026 exit 0; sleep 0.05; done"]}]'
img=$(hostile_image ptrace '{"exec":["/x/script"],"user":"0","group":"0",'"$handlers"'}' \
  'mkdir -p x && printf "#!/proc/self/exe\n" >x/script && chmod 755 x/script')
run_pod "CAP_SYS_PTRACE" "$img" --caps-retain=CAP_SYS_PTRACE,CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_KILL,CAP_SETUID,CAP_SETGID
grep -q 'exe pid1\|/proc/1/exe' "$T/out" || { cat "$T/out" "$T/err" >&2; fail "CAP_SYS_PTRACE: the watcher did not run"; }
if grep -q "^ok /proc/1/root$C" "$T/out"; then
  cat "$T/out" >&2
  fail "CAP_SYS_PTRACE: /proc/1/root reaches the host's files"
fi
judge "CAP_SYS_PTRACE: the app's stage2, the pod init and its root"

# enter: a long-running pod watches for the enter helper; `ferry enter POD /x/script` makes the
# command process run the helper itself. Its usage error goes to a full pipe, so it stays until
# the watcher has it.
img=$(hostile_image enterexe '{"exec":["/bin/sh","-c","echo up; /probe/exe watch enter 60; touch /tmp/done; exec sleep 1000"],"user":"0","group":"0"}' \
  'mkdir -p x && printf "#!/proc/self/exe\n" >x/script && chmod 755 x/script')
F run --uuid-file-save="$T/u-enter" "$img" >"$T/enter.out" 2>&1 &
bg+=($!)
wait_for "the pod to start" test -s "$T/u-enter"
wait_for "the app to start" grep -q '^up' "$T/enter.out"
u=$(cat "$T/u-enter")
python3 - "$T/enter.out" "$FERRY" --dir "$D" --insecure-options=image enter "$u" /x/script <<'PY'
import fcntl, os, subprocess, sys, time
log, argv = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
try:
    while True:
        os.write(w, b"x")
except BlockingIOError:
    pass
fcntl.fcntl(w, fcntl.F_SETFL, 0)
p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=w)
os.close(w)
end = time.time() + 20
while time.time() < end and p.poll() is None:
    with open(log) as f:
        if any(l.startswith(("caught", "missed")) for l in f):
            break
    time.sleep(0.05)
while os.read(r, 65536):
    pass
p.wait()
PY
wait_for "the watcher's verdict" grep -qE '^(ok|denied|missed)' "$T/enter.out"
cp "$T/enter.out" "$T/out"
: >"$T/err"
judge "#!/proc/self/exe as a ferry enter command"
F stop --force "$u" >/dev/null 2>&1 || true
echo "escape.proc_exe: $checks checks passed"
