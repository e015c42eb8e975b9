#!/usr/bin/env bash
# gc of an ns pod after kill -9: of the stage1 run process (the pod dies with it), of the pod
# init; then no mount under the pod directory and no cgroup is left, and gc is idempotent. Also
# the copy fallback, when the pod directory is on a filesystem overlayfs cannot use as upper.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stage1/lib_ns.sh"

make_tree "$T/tree"
gc_pod() { (cd "$1" && "$STAGE1_NS/bin/gc" --uuid "$(pod_uuid "$1")"); }

for victim in run init; do
  P=$T/kill-$victim
  new_pod "$P" --app a --tree "$T/tree" --exec '["sh","-c","echo up; sleep 1000"]' \
    --app b --tree "$T/tree" --exec '["sh","-c","sleep 1000"]'
  start_pod "$P"
  wait_line "$P/logs/a.log" up
  init=$(cat "$P/pid")
  if [ $victim = run ]; then kill -9 "$POD_PID"; else kill -9 "$init"; fi
  set +e
  wait "$POD_PID"
  set -e
  # The init dies with the run process (parent-death signal), and the pod's processes with it.
  for i in $(seq 1 200); do [ -e /proc/$init ] || break; sleep 0.05; done
  [ ! -e /proc/$init ] || { ps -o pid,stat,args -p "$init" >&2 || true; fail "kill -9 $victim: the pod init survived"; }
  left=0
  while read -r cg; do [ -d "$cg" ] && left=1; done < <(pod_cgroups "$P")
  if [ $victim = run ]; then
    [ $left = 1 ] || fail "kill -9 run: no cgroup left for gc to remove (test cannot fail)"
  fi
  gc_pod "$P" 2>"$T/gc.err" || { cat "$T/gc.err" "$P.err" >&2; fail "gc after kill -9 $victim failed"; }
  expect_clean "$P" "gc after kill -9 of $victim"
  expect_field "$P/status/a.json" state exited
  gc_pod "$P" 2>"$T/gc.err" || { cat "$T/gc.err" >&2; fail "second gc failed"; }
  ok "gc after kill -9 of $victim is idempotent"
done

# A mount left in the host's mount namespace under the pod directory (as a crashed stage1 of
# another flavor might leave) is detached by gc.
P=$T/leftover
new_pod "$P" --app a --tree "$T/tree" --exec '["true"]'
mount -t tmpfs tmpfs "$P/apps/a/rootfs"
mount -t tmpfs tmpfs "$P/apps/a/rootfs" # stacked
mkdir -p "$P/apps/a/rootfs/deeper"
mount -t tmpfs tmpfs "$P/apps/a/rootfs/deeper"
echo '{}' >"$P/cgroups.json"
gc_pod "$P"
expect_clean "$P" "gc detaches stacked and nested mounts"

# Copy fallback: upper directories on an overlayfs are refused by overlayfs.
mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work" "$T/ovl/merged"
mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/ovl/merged"
OVERLAYS+=("$T/ovl/merged")
echo marker-from-tree >"$T/tree/marker"
P=$T/ovl/merged/pod
new_pod "$P" --app a --tree "$T/tree" --exec '["sh","-c","cat /marker; echo written >/new"]'
run_pod "$P" --debug || { cat "$P.err" >&2; fail "the pod with a copied rootfs failed"; }
grep -q 'rootfs copied' "$P.err" || { cat "$P.err" >&2; fail "no copy fallback"; }
grep -qx marker-from-tree "$P/logs/a.log" || fail "the copied rootfs lacks the tree's files"
[ "$(cat "$P/apps/a/rootfs/new")" = written ] || fail "the app's write is not in its copy"
[ ! -e "$T/tree/new" ] || fail "the app wrote into the tree"
cmp /bin/busybox "$P/apps/a/rootfs/bin/busybox" || fail "busybox copied wrong"
[ "$(readlink "$P/apps/a/rootfs/bin/sh")" = busybox ] || fail "symlink not copied as a symlink"
ok "copy fallback when overlayfs refuses the pod directory"
expect_clean "$P" "copied pod"
