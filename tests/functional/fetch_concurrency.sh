#!/usr/bin/env bash
# Concurrency of the store: 8 `ferry fetch` (each followed by `ferry image render`) at once — the same registry image several times,
# other registry images sharing layers with it, a local ACI and oci: layouts — while
# `ferry image gc --grace-period=0s` runs again and again. Three rounds (the first on an empty
# store, the next ones after `image rm` of everything, so gc races the fetches for the blobs
# the removed images left). Every fetch and every gc must succeed, `ferry image verify` must be
# clean, and every image must be listed and renderable.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require docker-registry skopeo
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=http,image "$@"; }

svc_registry plain
mkdir -p "$T/img"
python3 "$TOOLS/mklayer.py" "$T/img/base.tar.gz" data 21 1 1 50
python3 "$TOOLS/mklayer.py" "$T/img/a.tar.gz" data 22 1 0.5
python3 "$TOOLS/mklayer.py" "$T/img/b.tar.gz" data 23 0.5 1 20
python3 "$TOOLS/mklayer.py" "$T/img/c.tar.gz" data 24 2 0
python3 "$TOOLS/mklayout.py" "$T/img/a" v1 "$T/img/base.tar.gz" "$T/img/a.tar.gz"
python3 "$TOOLS/mklayout.py" "$T/img/b" v1 "$T/img/base.tar.gz" "$T/img/b.tar.gz"
python3 "$TOOLS/mklayout.py" "$T/img/c" v1 "$T/img/c.tar.gz" "$T/img/a.tar.gz"
for n in a b c; do
  svc_push "oci:$T/img/$n:v1" "ferry/con-$n:v1" >/dev/null 2>"$T/push.err" ||
    { cat "$T/push.err" >&2; fail "skopeo could not push $n"; }
done
R=$REGISTRY_HOST
images=(
  "docker://$R/ferry/con-a:v1" "docker://$R/ferry/con-a:v1" "docker://$R/ferry/con-a:v1"
  "docker://$R/ferry/con-b:v1" "docker://$R/ferry/con-c:v1"
  "oci:$FIXTURES/oci:v1" "oci:$FIXTURES/oci:v2" "$FIXTURES/bb.aci"
)
[ -f "$FIXTURES/bb.aci" ] || fail "fixture bb.aci is missing"
ok "pushed 3 images sharing layers; ${#images[@]} fetches per round"

gc_loop() { # runs gc until $T/stop exists; counts runs, keeps the first failure
  local n=0
  while [ ! -e "$T/stop" ]; do
    if ! "$FERRY" --dir "$D" image gc --grace-period=0s --blobs-only >/dev/null 2>"$T/gc.err"; then
      cp "$T/gc.err" "$T/gc.failed"
      break
    fi
    n=$((n + 1))
  done
  echo "$n" >"$T/gc.runs"
}

for round in 1 2 3; do
  rm -f "$T/stop" "$T/gc.runs"
  F image list >/dev/null 2>&1 || true # creates the store before gc's first run
  gc_loop &
  gc_pid=$!
  pids=()
  for i in "${!images[@]}"; do
    # Staggered starts (0-0.4 s) leave gc windows between fetches, not only before and after.
    # Each worker then renders what it fetched, also while gc runs.
    (
      sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
      id=$("$FERRY" --dir "$D" --insecure-options=http,image fetch "${images[$i]}")
      echo "$id"
      rm -rf "$T/w$i"
      "$FERRY" --dir "$D" image render --rootfs-only "$id" "$T/w$i"
    ) >"$T/f$i.out" 2>"$T/f$i.err" &
    pids+=($!)
  done
  failed=0
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      echo "--- fetch ${images[$i]}:" >&2
      cat "$T/f$i.err" >&2
      failed=1
    fi
  done
  touch "$T/stop"
  wait "$gc_pid"
  [ "$failed" = 0 ] || fail "round $round: a concurrent fetch failed"
  [ ! -e "$T/gc.failed" ] || { cat "$T/gc.failed" >&2; fail "round $round: gc failed"; }
  ok "round $round: ${#images[@]} concurrent fetches and renders succeeded while gc ran $(cat "$T/gc.runs") times"

  expect_status 0 F image verify
  ok "round $round: store verifies clean"
  # The three fetches of con-a got one image: 6 images; every one is listed and renders.
  expect_status 0 F --format=json image list
  cp "$T/out" "$T/list.json"
  ids=$(cat "$T"/f*.out | sort -u)
  [ "$(wc -l <<<"$ids")" = 6 ] || fail "round $round: want 6 distinct images, got: $ids"
  for id in $ids; do
    python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert any(i["id"]==sys.argv[2] for i in l), sys.argv[2]' \
      "$T/list.json" "$id" || fail "round $round: $id is not listed"
    rm -rf "$T/render"
    expect_status 0 F image render --rootfs-only "$id" "$T/render"
    [ -n "$(ls -A "$T/render")" ] || fail "round $round: $id rendered empty"
  done
  ok "round $round: 6 images listed and rendered"

  if [ "$round" -lt 3 ]; then
    for id in $ids; do expect_status 0 F image rm "$id"; done
  fi
done
expect_status 0 F image verify
ok "final verify clean: $(cat "$T/out")"
echo "$checks passed, 0 failed"
