# Helpers for the functional tests of ferry-stage2: a busybox rootfs, bundles with hand-written
# config.json files, and ferry-stage2 run inside fresh pid/ipc/uts/net/mount namespaces as the
# pod init would start it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${FERRY_STAGE2:?FERRY_STAGE2 must point to the ferry-stage2 binary}"
[ "$(id -u)" = 0 ] || skip "ferry-stage2 needs root (mounts, pivot_root, setresuid)"
BUSYBOX=$(command -v busybox) || skip "busybox is not installed (Debian busybox-static)"
ldd "$BUSYBOX" >/dev/null 2>&1 && skip "$BUSYBOX is not statically linked (need busybox-static)"
command -v unshare >/dev/null || skip "unshare (util-linux) is missing"

# A rootfs template: /bin/busybox and its applets, /etc/passwd and /etc/group, a home owned by
# app (uid 1000) and the usual empty mount points.
TEMPLATE=$T/template
mkdir -p "$TEMPLATE"/{bin,etc,proc,sys,dev,tmp,home/app,srv}
cp "$BUSYBOX" "$TEMPLATE/bin/busybox"
for a in sh id ls cat mkdir echo touch env pwd grep wc stat readlink test true false sleep; do
  ln -s busybox "$TEMPLATE/bin/$a"
done
cat >"$TEMPLATE/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:App:/home/app:/bin/sh
daemon:x:2:2::/:/bin/false
P
cat >"$TEMPLATE/etc/group" <<'G'
root:x:0:
daemon:x:2:
app:x:1000:
staff:x:50:app
audio:x:63:
G
chown 1000:1000 "$TEMPLATE/home/app"
chown 2:50 "$TEMPLATE/srv"
chmod 1777 "$TEMPLATE/tmp"

# The config every bundle starts from (what formats/ generates, in short).
BASE_CONFIG='{
  "ociVersion": "1.0.2",
  "process": {"user": {"uid": 0, "gid": 0}, "args": ["true"], "env": ["PATH=/bin"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]}
  ],
  "annotations": {"dev.ferry.app.name": "main"}
}'

# bundle NAME [JSON]: $T/NAME with a copy of the template rootfs and config.json = the base
# config deep-merged with JSON (objects merge, arrays and values replace).
bundle() {
  local b=$T/$1 patch=${2:-}
  [ -n "$patch" ] || patch='{}'
  rm -rf "$b"
  mkdir -p "$b"
  cp -a "$TEMPLATE" "$b/rootfs"
  jq -s '.[0] * .[1]' <(echo "$BASE_CONFIG") <(echo "$patch") >"$b/config.json"
  echo "$b"
}

# s2 ARGS…: ferry-stage2 in new pid/ipc/uts/net/mount namespaces (a stand-in pod).
s2() {
  unshare --pid --fork --ipc --uts --net --mount --propagation private "$FERRY_STAGE2" "$@"
}

# expect_out TEXT WHAT: $T/out is exactly TEXT.
expect_out() {
  if [ "$(cat "$T/out")" != "$1" ]; then
    echo "--- want"; echo "$1"; echo "--- got"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
    fail "$2"
  fi >&2
  ok "$2"
}

# expect_err TEXT WHAT: stderr is exactly the one line TEXT.
expect_err() {
  if [ "$(cat "$T/err")" != "$1" ]; then
    echo "--- want"; echo "$1"; echo "--- got"; cat "$T/err"
    fail "$2"
  fi >&2
  ok "$2"
}

# capbit STATUS_FIELD N: 1 when capability N is in the field (CapEff, CapBnd, …) of $T/out.
capbit() {
  local hex
  hex=$(awk -v f="$1:" '$1 == f {print $2}' "$T/out")
  [ -n "$hex" ] || fail "no $1 in the output"
  echo $(((0x$hex >> $2) & 1))
}

# shargs SCRIPT: ["sh", "-c", SCRIPT] as JSON (the script may hold newlines and quotes).
shargs() { jq -cn --arg s "$1" '["sh", "-c", $s]'; }
