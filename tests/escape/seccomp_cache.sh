#!/usr/bin/env bash
# The compiled seccomp filters (stage1/ABI.md §3 "apps/<app>/seccomp.bpf"): the host's cache
# ($dir/cache/seccomp) and each bundle's hard link to an entry are out of a pod's reach. A
# running app, root in the pod with CAP_SYS_CHROOT, looks for any seccomp.bpf through its root,
# /proc/1/root and /proc/1/cwd (the init's root and working directory hold the pod directory),
# tries to append to every one it names, and climbs out of a chroot towards the cache entry its
# own filter came from. From the host: the bundle's link exists while the pod runs (so the probes
# had something to find; a pod in a user namespace or on kvm has none: its stage2 compiles), and
# the entry is byte for byte what it was.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

# A first pod makes the default filter's entry; the hostile pod's filter is the same one. kvm's
# run links no compiled filter (its guest's stage2 compiles its own): there the entry the probes
# go for is made by a first pod of the ns stage1 in the same data directory.
first=()
[ "${FERRY_STAGE1:-}" != kvm ] || first=(--stage1-name=ns)
run_pod "first pod" "${first[@]}" "$BB" --exec /bin/busybox -- true
[ "$st" -eq 0 ] || { cat "$T/err" >&2; fail "the first pod exited $st"; }
entry=
if ! escape_userns; then
  entry=$(find "$D/cache/seccomp" -maxdepth 1 -name '*.bpf' | head -1)
  [ -n "$entry" ] || fail "the first pod left no cache entry in $D/cache/seccomp"
  cp "$entry" "$T/entry.before"
fi

probe='find / -xdev -name seccomp.bpf 2>/dev/null | sed "s/^/found /"
for d in /proc/1/root /proc/1/cwd; do ls "$d/" >/dev/null 2>&1 && echo "listed $d"; done
for f in /proc/1/cwd/apps/*/seccomp.bpf /proc/1/root'"$D"'/cache/seccomp/*.bpf '"${entry:-/nonexistent}"'; do
  [ -e "$f" ] || continue; echo "found $f"; (echo x >>"$f") 2>/dev/null && echo "wrote $f"; done
/probe/sys chroot-escape '"${entry:-$D/cache/seccomp}"'
echo ready; exec sleep 300'
app=$(jq -cn --arg s "$probe" '{exec:["/bin/sh","-c",$s],user:"0",group:"0"}')
img=$(hostile_image seccomp-cache "$app")
start_pod hostile "$img"
out=$T/hostile.out
if grep -E '^(found|listed|wrote|ok chroot)' "$out"; then
  cat "$out" >&2
  fail "the app reached a compiled filter or the pod directory"
fi
grep -q '^denied chroot escape' "$out" || { cat "$out" >&2; fail "the chroot probe did not run"; }
bundle=$(find "$D/pods/run/$u/apps" -maxdepth 2 -name seccomp.bpf | head -1)
if escape_userns; then
  [ -z "$bundle" ] || fail "a pod in a user namespace got a compiled filter ($bundle)"
elif [ "${FERRY_STAGE1:-}" = kvm ]; then
  [ -z "$bundle" ] || fail "kvm's run linked a compiled filter into the bundle ($bundle)"
else
  [ -n "$bundle" ] && [ "$(stat -c %i "$bundle")" = "$(stat -c %i "$entry")" ] ||
    fail "the running pod's bundle holds no link to $entry (nothing for the probes to find)"
fi
F stop --force "$u" >/dev/null 2>&1 || true
F status --wait=10s "$u" >/dev/null 2>&1 || true
if [ -n "$entry" ]; then
  cmp -s "$entry" "$T/entry.before" || fail "the cache entry changed"
  [ "$(stat -c '%a %u' "$entry")" = "600 0" ] || fail "the cache entry is $(stat -c '%a %u' "$entry")"
fi
ok "an app finds, lists and writes no compiled filter (its root, /proc/1/root, /proc/1/cwd, a chroot climb); the cache entry is unchanged"
host_unchanged "seccomp cache"
echo "escape.seccomp_cache: $checks checks passed"
