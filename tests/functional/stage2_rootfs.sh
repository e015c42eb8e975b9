#!/usr/bin/env bash
# ferry-stage2, the filesystem side: the app's own mount namespace, /proc /sys /dev per the appc
# OS spec, volumes (bind, rbind, ro), masked and read-only paths, a read-only root, sysctl;
# hostile rootfs whose symlinks try to send a mount to the host; nothing leaks into the
# caller's mount namespace.
source "$(dirname "$0")/stage2_lib.sh"

# --- /proc, /sys, /dev
script='ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty |
    while read m l u g ma mi rest; do echo $m $u $g $ma $mi ${rest##* }; done
  for l in ptmx fd stdin; do readlink /dev/$l; done; test -c /dev/console && echo console
  test -c /dev/pts/ptmx && echo pts; echo x >/dev/shm/x && echo shm
  grep -c . /proc/self/mountinfo >/dev/null && echo proc; test -d /sys/kernel && echo sys
  touch /sys/x 2>/dev/null || echo sys-ro'
b=$(bundle dev '{"process": {"args": '"$(shargs "$script")"'}}')
expect_status 0 s2 "$b"
expect_out "crw-rw-rw- root root 1, 7 /dev/full
crw-rw-rw- root root 1, 3 /dev/null
crw-rw-rw- root root 1, 8 /dev/random
crw-rw-rw- root root 5, 0 /dev/tty
crw-rw-rw- root root 1, 9 /dev/urandom
crw-rw-rw- root root 1, 5 /dev/zero
pts/ptmx
/proc/self/fd
/proc/self/fd/0
console
pts
shm
proc
sys
sys-ro" "/dev holds the appc OS spec's devices; /proc, /sys (ro), /dev/pts, /dev/shm mounted"
[ -z "$(ls -A "$b/rootfs/dev")" ] || fail "devices were created in the image's /dev"
ok "the image's own /dev is left untouched"

b=$(bundle devices '{"process": {"args": ["ls", "-ln", "/dev/loopy", "/dev/sub/fifo"]},
  "linux": {"devices": [{"type": "c", "path": "/dev/loopy", "major": 1, "minor": 3,
  "fileMode": 416, "uid": 1000, "gid": 63}, {"type": "p", "path": "/dev/sub/fifo"}]}}')
expect_status 0 s2 "$b"
grep -q '^crw-r-----  *1 1000  *63  *1,  *3 .*/dev/loopy$' "$T/out" &&
  grep -q '^prw-rw-rw- .*/dev/sub/fifo$' "$T/out" || fail "linux.devices: $(cat "$T/out" "$T/err")"
ok "linux.devices created with their mode and owner"

# /dev/console: the terminal of an interactive app (process.terminal), /dev/null otherwise.
script='stat -c "%t:%T" /dev/console; stat -L -c "%t:%T" /proc/self/fd/0'
b=$(bundle console '{"process": {"terminal": true, "args": '"$(shargs "$script")"'}}')
expect_status 0 s2 "$b" </dev/null
expect_out $'1:3\n1:3' "without a terminal on stdin, /dev/console is /dev/null"
if command -v script >/dev/null; then
  # script(1) gives ferry-stage2 a pseudo-terminal on stdin, as an interactive pod's init does.
  script -qec "unshare --pid --fork --ipc --uts --net --mount --propagation private $FERRY_STAGE2 $b" \
    /dev/null </dev/null >"$T/out" 2>&1 || fail "interactive console: $(cat "$T/out")"
  tr -d '\r' <"$T/out" >"$T/out2"
  [ "$(sed -n 1p "$T/out2")" = "$(sed -n 2p "$T/out2")" ] && [ "$(sed -n 1p "$T/out2")" != 1:3 ] ||
    fail "interactive console is not the terminal: $(cat "$T/out2")"
  ok "with process.terminal and a terminal on stdin, /dev/console is that terminal"
fi

# --- volumes
mkdir -p "$T/vol/sub"
echo hello >"$T/vol/greeting"
script='cat /data/greeting; echo new >/data/new && echo wrote; cat /ro/greeting
  echo x >/ro/x || echo ro-refused; cat /etc/hostfile'
b=$(bundle volumes '{"process": {"args": '"$(shargs "$script")"'},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/data", "type": "bind", "source": "'"$T/vol"'", "options": ["rbind"]},
  {"destination": "/ro", "type": "bind", "source": "'"$T/vol"'", "options": ["rbind", "ro"]},
  {"destination": "/etc/hostfile", "type": "bind", "source": "'"$T/vol/greeting"'", "options": ["bind", "ro"]}]}')
expect_status 0 s2 "$b"
expect_out $'hello\nwrote\nhello\nro-refused\nhello' "bind volumes: rw, ro, a file; missing targets created"
grep -q "Read-only file system" "$T/err" || fail "ro volume: $(cat "$T/err")"
[ "$(cat "$T/vol/new")" = new ] || fail "the rw volume's write is not on the host"
[ ! -e "$T/vol/x" ] || fail "the ro volume was written"
[ -f "$b/rootfs/etc/hostfile" ] && [ -d "$b/rootfs/data" ] || fail "mount targets not created"
ok "volume writes reach the host only through rw volumes"

# --- read-only root, masked and read-only paths, sysctl
script='touch /x; touch /tmp/y; echo x >/dev/shm/ok && echo dev-shm-writable
  for f in /proc/kcore /proc/keys /proc/timer_list; do test -e $f && echo $f $(wc -c <$f); done
  ls /proc/acpi /sys/firmware | grep -vc :
  echo 1 >/proc/sys/kernel/domainname || echo sys-ro; cat /proc/sys/net/ipv4/ip_forward'
b=$(bundle readonly '{"process": {"args": '"$(shargs "$script")"'},
  "root": {"readonly": true},
  "linux": {"maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/nonexistent/path"],
   "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
   "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
     {"type": "mount"}],
   "sysctl": {"net.ipv4.ip_forward": "1"}}}')
expect_status 0 s2 "$b"
grep -q "^touch: /x: Read-only file system$" "$T/err" &&
  grep -q "^touch: /tmp/y: Read-only file system$" "$T/err" ||
  fail "read-only root: $(cat "$T/err")"
[ ! -e "$b/rootfs/x" ] || fail "the read-only root was written"
want=dev-shm-writable
for f in /proc/kcore /proc/keys /proc/timer_list; do [ ! -e $f ] || want+=$'\n'"$f 0"; done
expect_out "$want"$'\n1\nsys-ro\n1' \
  "read-only root (tmpfs mounts stay writable), masked /proc/kcore and /proc/acpi, /proc/sys read-only, sysctl in the pod's net namespace"

# A sysctl the kernel keeps for the whole host, or one of a namespace config.json does not
# give the app, is refused before anything is written: config.json may come from elsewhere
# than ferry run, which refuses them first.
burst=$(cat /proc/sys/kernel/printk_ratelimit_burst)
b=$(bundle sysctl-host '{"linux": {"sysctl": {"kernel.printk_ratelimit_burst": "'$((burst + 1))'"}}}')
set +e
s2 "$b" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$(cat /proc/sys/kernel/printk_ratelimit_burst)" = "$burst" ] || {
  echo "$burst" >/proc/sys/kernel/printk_ratelimit_burst
  fail "ferry-stage2 wrote the host's kernel.printk_ratelimit_burst"
}
[ "$rc" -eq 254 ] || fail "a host sysctl: ferry-stage2 exited $rc, want 254: $(cat "$T/err")"
expect_err 'ferry-stage2: main: cannot set sysctl "kernel.printk_ratelimit_burst": it is not namespaced, so it would change the host' \
  "a sysctl the host keeps for itself is refused"
b=$(bundle sysctl-net '{"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}],
  "sysctl": {"net.ipv4.ip_forward": "1"}}}')
expect_status 254 s2 "$b"
expect_err 'ferry-stage2: main: cannot set sysctl "net.ipv4.ip_forward": the app has no network namespace of its own' \
  "net.* without a network namespace of the app's own is refused"

# --- hostile rootfs: symlinks must never send a mount to the host
mkdir -p "$T/target"
echo host >"$T/target/marker"
mounts_of() { grep -F -- "$1" /proc/self/mountinfo || true; }
before=$(mounts_of "$T")

# /vol -> / : the destination resolves to the rootfs itself → refused
b=$(bundle hostile-root '{"mounts": [{"destination": "/vol", "type": "bind", "source": "'"$T/vol"'",
  "options": ["rbind"]}]}')
ln -s / "$b/rootfs/vol"
expect_status 254 s2 "$b"
expect_err "ferry-stage2: main: cannot mount a bind of \"$T/vol\" on \"/vol\": the destination resolves to the app's root itself" \
  "a volume at a symlink to / is refused"

# /vol -> /etc and /up -> ../../../…/$T/target: both resolve inside the rootfs
b=$(bundle hostile-inside '{"process": {"args": ["sh", "-c", "cat /etc/greeting; ls '"$T"'/target"]},
  "mounts": [{"destination": "/vol", "type": "bind", "source": "'"$T/vol"'", "options": ["rbind"]},
  {"destination": "/up/x", "type": "tmpfs", "source": "tmpfs"}]}')
ln -s /etc "$b/rootfs/vol"
mkdir -p "$b/rootfs/$T/target"
ln -s "../../../../../../../../../../..$T/target" "$b/rootfs/up"
expect_status 0 s2 "$b"
expect_out "hello
x" "symlinked destinations (absolute and climbing with ..) land inside the rootfs"
[ -d "$b/rootfs/$T/target/x" ] && [ ! -e "$T/target/x" ] || fail "the climbing symlink reached the host"
[ "$(ls "$T/target")" = marker ] || fail "the host directory changed"

# /proc -> / and /sys -> /etc : proc and sysfs only on real directories
for link in "proc /" "proc /etc" "sys /"; do
  set -- $link
  b=$(bundle hostile-$1 '{}')
  rmdir "$b/rootfs/$1"
  ln -s "$2" "$b/rootfs/$1"
  expect_status 254 s2 "$b"
  want="cannot mount proc on \"/proc\": "
  [ "$1" = sys ] && want="cannot mount sysfs on \"/sys\": "
  grep -q "^ferry-stage2: main: $want.*Too many levels of symbolic links$" "$T/err" ||
    fail "/$1 -> $2: $(cat "$T/err")"
  ok "/$1 -> $2 in the image: refused in one line"
done

# A dangling symlink: nothing is created at its target, on the host or inside.
b=$(bundle hostile-dangling '{"mounts": [{"destination": "/vol/x", "type": "tmpfs", "source": "tmpfs"}]}')
ln -s "$T/target/new" "$b/rootfs/vol"
expect_status 254 s2 "$b"
[ ! -e "$T/target/new" ] && [ ! -e "$b/rootfs/$T/target/new" ] || fail "dangling symlink followed"
ok "a dangling symlink is refused, its target never created"

[ "$(mounts_of "$T")" = "$before" ] || fail "mounts leaked: $(mounts_of "$T")"
ok "no mount of the hostile cases is visible outside"

# --- nothing leaks into the caller's mount namespace: run without unshare --mount
b=$(bundle leak '{"process": {"args": ["sh", "-c", "grep -c . /proc/self/mountinfo"]},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
  {"destination": "/data", "type": "bind", "source": "'"$T/vol"'", "options": ["rbind", "ro"]}],
  "linux": {"maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]},
  "root": {"readonly": true}}')
host_before=$(mounts_of "$b")
expect_status 0 unshare --pid --fork "$FERRY_STAGE2" "$b"
host_after=$(mounts_of "$b")
[ -z "$host_before" ] && [ -z "$host_after" ] || fail "mounts leaked into the caller: $host_after"
[ "$(cat "$T/out")" -le 12 ] || fail "the app sees $(cat "$T/out") mounts: host mounts leaked in"
ok "no mount leaks into the caller's namespace; the app sees only its own mounts ($(cat "$T/out"))"
