#!/usr/bin/env bash
# The host's cache of compiled seccomp filters (stage1/ABI.md §3 "apps/<app>/seccomp.bpf"): the
# run of ns (and of nspawn: functional.nspawn.pods_seccomp_cache) compiles an app's filter once
# into $dir/cache/seccomp/<key>.bpf (0600, root's) and links it into the app's bundle;
# ferry-stage2 loads it instead of compiling. A pod's app sees the same filter cold and warm; an
# entry whose header is not its key's, or that is truncated, is compiled again; a file that
# passes the host's header check but whose body was changed is not loaded by stage2. The control
# (another filter's program filed under this key is what the app gets) shows that the file is
# what stage2 loads, so the checks can fail.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
skip_on_stage1 kvm "its apps' stage2 runs on the guest's kernel and compiles their filters (the host's cache is keyed to the host's kernel; run links none)"
C=$D/cache/seccomp

deny=(--seccomp mode=remove,errno=ENOTSUP,mkdir,mkdirat)
probe=(--exec /bin/busybox -- sh -c 'mkdir /made && echo made; exit 0')
run_b() { expect_status 0 F --debug run "$BB" "${deny[@]}" "${probe[@]}"; }
refused() { # WHAT
  if grep -qx made "$T/out" || ! grep -qi 'not supported' "$T/out" "$T/err"; then
    cat "$T/out" "$T/err" >&2
    fail "$1: mkdir was not refused with ENOTSUP"
  fi
}
made() { # WHAT
  grep -qx made "$T/out" || { cat "$T/out" "$T/err" >&2; fail "$1: mkdir was refused"; }
}
said() { # WHAT PATTERN: run's --debug said it
  grep -q "$2" "$T/err" || { grep 'seccomp' "$T/err" >&2; fail "$1: run did not say '$2'"; }
}
entries() { find "$C" -maxdepth 1 -name '*.bpf' | wc -l; }
# put FILE: the entry named NAME holds FILE's bytes (root's, 0600), as the cache would.
put() { cp "$1" "$C/$2.tmp" && chmod 0600 "$C/$2.tmp" && mv "$C/$2.tmp" "$C/$2"; }

# Cold: compiled into the cache, linked into the bundle, enforced.
run_b
refused "cold"
said "cold" "seccomp filter compiled into the cache, linked"
[ "$(entries)" -eq 1 ] || fail "cold: $(entries) cache entries, want 1"
b=$(basename "$(find "$C" -maxdepth 1 -name '*.bpf')")
[[ $b =~ ^[0-9a-f]{64}\.bpf$ ]] || fail "cache entry named $b"
[ "$(stat -c '%a %u %g' "$C/$b")" = "600 0 0" ] || fail "cache entry: $(stat -c '%a %u %g' "$C/$b")"
[ "$(stat -c '%a %u' "$C")" = "700 0" ] || fail "cache directory: $(stat -c '%a %u' "$C")"
link=$(find "$D/pods" -path '*/apps/*/seccomp.bpf' | head -1)
[ -n "$link" ] && [ "$(stat -c %i "$link")" = "$(stat -c %i "$C/$b")" ] ||
  fail "the pod's seccomp.bpf ($link) is not the cache entry's inode"
cp "$C/$b" "$T/b.bpf"
ok "cold: compiled once into $C ($b, 0600 root), hard-linked into the bundle, mkdir refused"

# Warm: linked, not compiled; the same filter.
run_b
refused "warm"
said "warm" "seccomp filter linked: $b"
! grep -q "compiled into the cache" "$T/err" || fail "warm: compiled again"
[ "$(entries)" -eq 1 ] || fail "warm: $(entries) cache entries"
ok "warm: the entry is linked as it is, mkdir refused the same"

# Another filter (the default profile: mkdir allowed) is another entry.
expect_status 0 F run "$BB" "${probe[@]}"
made "the default filter"
[ "$(entries)" -eq 2 ] || fail "the default filter: $(entries) cache entries, want 2"
a=$(basename "$(find "$C" -maxdepth 1 -name '*.bpf' ! -name "$b")")
cp "$C/$a" "$T/a.bpf"
ok "the default filter has an entry of its own ($a), mkdir allowed"

# Truncated: compiled again, the entry repaired.
truncate -s 100 "$C/$b"
run_b
refused "truncated entry"
said "truncated entry" "seccomp filter compiled into the cache"
cmp -s "$C/$b" "$T/b.bpf" || fail "truncated entry: not repaired"
ok "a truncated entry is compiled again and replaced; mkdir refused"

# Another filter's file under this name (its header's key is the other's): compiled again.
put "$T/a.bpf" "$b"
run_b
refused "another filter's entry"
said "another filter's entry" "seccomp filter compiled into the cache"
cmp -s "$C/$b" "$T/b.bpf" || fail "another filter's entry: not replaced"
ok "an entry holding another filter's file is compiled again; mkdir refused"

# The control: the default filter's program with this filter's key in its header passes every
# check and is what the app gets (mkdir made): the file is what stage2 loads.
cp "$T/a.bpf" "$T/forged.bpf"
dd if="$T/b.bpf" of="$T/forged.bpf" bs=1 skip=24 seek=24 count=32 conv=notrunc status=none
put "$T/forged.bpf" "$b"
run_b
made "control"
said "control" "seccomp filter linked: $b"
ok "control: another program under this key's header is loaded as it is (mkdir made)"

# The same with one byte of its body changed: the host's header check passes (linked), stage2's
# checksum does not: compiled by stage2, mkdir refused.
size=$(stat -c %s "$T/forged.bpf")
printf '\377' | dd of="$T/forged.bpf" bs=1 seek=$((size - 1)) conv=notrunc status=none
put "$T/forged.bpf" "$b"
run_b
said "changed body" "seccomp filter linked: $b"
refused "changed body"
ok "an entry whose body does not match its checksum is not loaded by stage2; mkdir refused"
# gc: the entry a running pod links stays; once no pod links it, `gc --grace-period=0s` removes
# it (one link left: the cache's own), and the next run compiles it again.
F run --uuid-file-save="$T/live.u" "$BB" "${deny[@]}" \
  --exec /bin/busybox -- sh -c 'echo up; exec /bin/busybox sleep 30' >"$T/live.out" 2>&1 &
live=$!
wait_for "the pod to start" grep -q '^up$' "$T/live.out"
expect_status 0 F gc --grace-period=0s
[ -f "$C/$b" ] || fail "gc removed the entry a running pod links"
[ ! -e "$C/$a" ] || fail "gc left the entry no pod links ($a)"
expect_status 0 F stop --force "$(cat "$T/live.u")"
wait "$live" || true
expect_status 0 F gc --grace-period=0s
[ "$(entries)" -eq 0 ] || fail "gc left $(entries) cache entries no pod links: $(ls -l "$C")"
run_b
refused "after gc"
said "after gc" "seccomp filter compiled into the cache"
ok "gc keeps the entry a running pod links, removes the others; the next run compiles again"
echo "functional.pods_seccomp_cache: $checks checks passed"
