#!/usr/bin/env bash
# ferry-stage2, the process side: user and groups resolved in the app's own /etc files (names,
# numbers, /path owners), the environment exactly as config.json says, the working directory,
# rlimits, capabilities, no_new_privs, seccomp, event handlers, and one-line failures (254).
source "$(dirname "$0")/stage2_lib.sh"

# --- user and groups
b=$(bundle user-name '{"process": {"args": ["id"], "user": {"uid": 0, "gid": 0,
  "additionalGids": [63, 2]}}, "annotations": {"dev.ferry.user": "app",
  "dev.ferry.group": "staff"}}')
expect_status 0 s2 "$b"
expect_out "uid=1000(app) gid=50(staff) groups=2(daemon),63(audio)" \
  "user and group by name from the app's /etc, supplementary groups"

b=$(bundle user-number '{"process": {"args": ["id"], "user": {"uid": 4321, "gid": 8765}}}')
expect_status 0 s2 "$b"
expect_out "uid=4321 gid=8765" "user and group by number (process.user), no supplementary groups"

b=$(bundle user-annot-number '{"process": {"args": ["id"], "user": {"uid": 5, "gid": 5}},
  "annotations": {"dev.ferry.user": "1000", "dev.ferry.group": "63"}}')
expect_status 0 s2 "$b"
expect_out "uid=1000(app) gid=63(audio)" "numeric annotations"

b=$(bundle user-path '{"process": {"args": ["id"]}, "annotations":
  {"dev.ferry.user": "/home/app", "dev.ferry.group": "/srv"}}')
expect_status 0 s2 "$b"
expect_out "uid=1000(app) gid=50(staff)" "user and group as owners of paths"

# The host's /etc/passwd never answers: a name only the host knows is an error.
host_only=$(awk -F: '$3 != 0 && $1 != "app" && $1 != "daemon" {print $1; exit}' /etc/passwd)
b=$(bundle user-host '{"annotations": {"dev.ferry.user": "'"$host_only"'"}}')
expect_status 254 s2 "$b"
expect_err "ferry-stage2: main: cannot resolve user \"$host_only\": no such user in the app's \"/etc/passwd\"" \
  "a user only the host knows is refused"

b=$(bundle group-missing '{"annotations": {"dev.ferry.group": "/nope"}}')
expect_status 254 s2 "$b"
expect_err 'ferry-stage2: main: cannot resolve group "/nope": cannot find "/nope" in the app'"'"'s root: No such file or directory' \
  "a missing /path group is refused"

# --- environment and working directory
b=$(bundle env '{"process": {"args": ["env"], "env": ["PATH=/bin", "FOO=bar baz",
  "EMPTY=", "container=ferry"]}}')
expect_status 0 s2 "$b"
expect_out $'PATH=/bin\nFOO=bar baz\nEMPTY=\ncontainer=ferry' "environment exactly as config.json says"

b=$(bundle cwd '{"process": {"args": ["pwd"], "cwd": "/home/app", "user": {"uid": 1000,
  "gid": 1000}}}')
expect_status 0 s2 "$b"
expect_out "/home/app" "working directory"

b=$(bundle cwd-missing '{"process": {"args": ["pwd"], "cwd": "/nope"}}')
expect_status 254 s2 "$b"
expect_err 'ferry-stage2: main: cannot change to the working directory "/nope": No such file or directory' \
  "a missing working directory fails in one line naming it"

b=$(bundle no-exe '{"process": {"args": ["frobnicate"], "env": ["PATH=/usr/bin:/bin"]}}')
expect_status 254 s2 "$b"
expect_err 'ferry-stage2: main: cannot find "frobnicate" in PATH "/usr/bin:/bin": No such file or directory' \
  "an executable missing from the app's PATH"

# PATH is looked up inside the rootfs: a command only the host has is not found.
b=$(bundle host-exe '{"process": {"args": ["ldd"], "env": ["PATH=/usr/bin:/bin"]}}')
[ -x /usr/bin/ldd ] || fail "the host has no /usr/bin/ldd to compare with"
expect_status 254 s2 "$b"
ok "PATH is searched inside the rootfs, not on the host"

# --- rlimits
b=$(bundle rlimit '{"process": {"args": ["sh", "-c", "ulimit -n; ulimit -Hn"], "rlimits":
  [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]}}')
expect_status 0 s2 "$b"
expect_out $'123\n456' "RLIMIT_NOFILE visible through ulimit"

hard=$(ulimit -Hn)
if [ "$hard" != unlimited ]; then
  b=$(bundle rlimit-high '{"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 64,
    "hard": '$((hard + 1))'}]}}')
  if grep -q '^CapBnd:.*' /proc/self/status &&
    [ $(((0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24) & 1)) = 0 ]; then
    expect_status 254 s2 "$b"
    expect_err "ferry-stage2: main: cannot set RLIMIT_NOFILE to soft 64, hard $((hard + 1)): the hard limit is $hard and raising it needs CAP_SYS_RESOURCE, which ferry-stage2 does not have (the bounding set here lacks it)" \
      "a hard limit above the current one without CAP_SYS_RESOURCE: one clear line"
  else
    expect_status 0 s2 "$b"
    ok "a hard limit above the current one with CAP_SYS_RESOURCE (this host has it)"
  fi
fi

# --- capabilities and no_new_privs
appc14='"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
  "CAP_KILL", "CAP_MKNOD", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID",
  "CAP_SETPCAP", "CAP_SETFCAP", "CAP_SYS_CHROOT"'
no_raw='"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
  "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID",
  "CAP_SETPCAP", "CAP_SETFCAP", "CAP_SYS_CHROOT"'
caps() { echo '"capabilities": {"bounding": ['"$1"'], "effective": ['"$1"'], "permitted": ['"$1"'], "inheritable": [], "ambient": []}'; }
b=$(bundle caps '{"process": {"args": ["cat", "/proc/self/status"], '"$(caps "$appc14")"'}}')
expect_status 0 s2 "$b"
[ "$(capbit CapEff 13)$(capbit CapBnd 13)$(capbit CapEff 0)$(capbit CapEff 21)" = 1110 ] ||
  fail "appc set: CAP_NET_RAW and CAP_CHOWN expected, CAP_SYS_ADMIN not: $(grep Cap "$T/out")"
grep -q '^CapBnd:	00000000a80425fb$' "$T/out" || fail "appc set: $(grep CapBnd "$T/out")"
ok "the appc set of 14 is exactly the bounding set"
b=$(bundle caps-removed '{"process": {"args": ["cat", "/proc/self/status"], '"$(caps "$no_raw")"'}}')
expect_status 0 s2 "$b"
[ "$(capbit CapEff 13)$(capbit CapBnd 13)$(capbit CapPrm 13)$(capbit CapEff 0)" = 0001 ] ||
  fail "removed CAP_NET_RAW still there: $(grep Cap "$T/out")"
ok "a removed capability is absent from CapEff, CapPrm and CapBnd"

# A non-root user keeps exactly the ambient set after execve.
b=$(bundle caps-ambient '{"process": {"args": ["cat", "/proc/self/status"], "user": {"uid": 1000,
  "gid": 1000}, "capabilities": {"bounding": ['"$appc14"'], "effective": ["CAP_NET_BIND_SERVICE"],
  "permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"],
  "ambient": ["CAP_NET_BIND_SERVICE"]}}}')
expect_status 0 s2 "$b"
grep -q '^CapEff:	0000000000000400$' "$T/out" && grep -q '^CapAmb:	0000000000000400$' "$T/out" ||
  fail "ambient CAP_NET_BIND_SERVICE for uid 1000: $(grep Cap "$T/out")"
ok "ambient capability kept across setresuid and execve"

b=$(bundle nnp '{"process": {"args": ["cat", "/proc/self/status"], "noNewPrivileges": true}}')
expect_status 0 s2 "$b"
grep -q '^NoNewPrivs:	1$' "$T/out" || fail "no_new_privs: $(grep NoNew "$T/out")"
b=$(bundle nnp-off '{"process": {"args": ["cat", "/proc/self/status"]}}')
expect_status 0 s2 "$b"
grep -q '^NoNewPrivs:	0$' "$T/out" || fail "no_new_privs off: $(grep NoNew "$T/out")"
ok "no_new_privs as process.noNewPrivileges says"

# Signals the starter ignored (bash's trap '' makes its children ignore them) are the app's
# defaults again; nothing is blocked.
b=$(bundle signals '{"process": {"args": ["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]}}')
expect_status 0 bash -c 'trap "" PIPE HUP TERM; exec unshare --pid --fork --mount "$@"' - \
  "$FERRY_STAGE2" "$b"
expect_out $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' \
  "signals ignored by the starter are reset, none blocked"

# --- seccomp (applied last; with and without no_new_privs, as root and as a user)
seccomp='"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures":
  ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [
  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95},
  {"names": ["symlink", "symlinkat"], "action": "SCMP_ACT_ERRNO"},
  {"names": ["not_a_syscall_here"], "action": "SCMP_ACT_KILL"}]}}'
for nnp in true false; do
  for uid in 0 1000; do
    b=$(bundle seccomp '{"process": {"args": ["sh", "-c",
      "mkdir /tmp/d; ln -s x /tmp/l; touch /tmp/f && echo touched; grep -E \"^(Seccomp|CapEff):\" /proc/self/status"],
      "user": {"uid": '$uid', "gid": '$uid'}, "noNewPrivileges": '$nnp', '"$(caps "$appc14")"'},
      '"$seccomp"'}')
    ln -sf busybox "$b/rootfs/bin/ln"
    expect_status 0 s2 "$b"
    grep -q "^mkdir: can't create directory '/tmp/d': Operation not supported$" "$T/err" &&
      grep -q "^ln: /tmp/l: Operation not permitted$" "$T/err" &&
      grep -q '^touched$' "$T/out" && grep -q '^Seccomp:	2$' "$T/out" ||
      { cat "$T/out" "$T/err" >&2; fail "seccomp (uid $uid, no_new_privs $nnp)"; }
    # CAP_SYS_ADMIN, borrowed to load the filter without no_new_privs, is gone in the app.
    [ "$(capbit CapEff 21)" = 0 ] || fail "CAP_SYS_ADMIN left in the app: $(cat "$T/out")"
    [ ! -e "$b/rootfs/tmp/d" ] || fail "mkdir went through"
    ok "seccomp errno rules (ENOTSUP for mkdir, default EPERM for symlink), uid $uid, no_new_privs $nnp"
  done
done

# An allow list (what an appc retain set becomes): the filter refuses everything else, so
# nothing may run between loading it and execve; without no_new_privs too.
allow='"execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
  "mmap", "munmap", "mprotect", "uname", "readlink", "getrandom", "getuid", "geteuid", "getpid",
  "open", "openat", "read", "write", "close", "fstat", "newfstatat", "lseek", "sendfile",
  "exit", "exit_group"'
for uid in 0 1000; do
  b=$(bundle seccomp-allow '{"process": {"args": ["cat", "/proc/self/status"], "user": {"uid": '$uid',
    "gid": '$uid'}, '"$(caps "$appc14")"'}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38, "syscalls": [{"names": ['"$allow"'], "action": "SCMP_ACT_ALLOW"}]}}}')
  expect_status 0 s2 "$b"
  grep -q '^Seccomp:	2$' "$T/out" && [ "$(capbit CapEff 21)" = 0 ] ||
    fail "allow list, uid $uid: $(cat "$T/out" "$T/err")"
  ok "an allow-list filter without no_new_privs: the app starts (uid $uid)"
done

b=$(bundle seccomp-bad '{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 3}]}}}')
expect_status 254 s2 "$b"
expect_err "ferry-stage2: main: cannot build the seccomp filter: linux.seccomp.syscalls[0]: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_KILL" \
  "an invalid seccomp rule is refused before anything runs"

# --- event handlers
ev='"annotations": {"dev.ferry.event.pre-start": "[\"sh\", \"-c\", \"echo pre $0\", \"x\"]"}'
b=$(bundle events '{"process": {"args": ["echo", "main"]}, '"$ev"'}')
expect_status 0 s2 --event pre-start "$b"
expect_out "pre x" "--event pre-start runs the annotation's argv"
expect_status 0 s2 --event post-stop "$b"
expect_out "" "--event post-stop without a handler: nothing to do"
expect_status 0 s2 "$b"
expect_out "main" "without --event: process.args"
b=$(bundle events-bad '{"annotations": {"dev.ferry.event.post-stop": "[1]"}}')
expect_status 254 s2 --event post-stop "$b"
expect_err 'ferry-stage2: main: cannot read the post-stop handler: annotations["dev.ferry.event.post-stop"][0]: must be a string, not an integer' \
  "a damaged handler annotation is one clear line"
expect_status 2 "$FERRY_STAGE2" --event pre-stop "$b"
grep -q -- "--event must be pre-start or post-stop" "$T/err" || fail "usage: $(cat "$T/err")"
expect_status 2 "$FERRY_STAGE2"
ok "usage errors exit 2"

# --- any failure before execve: one line, 254; the app name from the bundle when unknown
mkdir -p "$T/broken"
echo '{"ociVersion": "1.0.2", "process": {"args": []}}' >"$T/broken/config.json"
expect_status 254 s2 "$T/broken"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^ferry-stage2: broken: cannot read ".*config.json": ' "$T/err" ||
  fail "broken config: $(cat "$T/err")"
ok "an invalid config.json is one line naming the bundle"
