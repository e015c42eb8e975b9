#!/usr/bin/env bash
# Crash safety of `ferry fetch docker://…`: a multi-layer image of some tens of MB from the
# local docker-registry, fetched 20 times, each time `kill -9`ed at a random moment (somewhere
# in the time a whole fetch takes). After each kill `ferry image verify` must report the store
# clean and a fetch must then succeed; rm + gc reset the store for the next trial, so every
# trial downloads again over the leftovers of the previous ones.
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require docker-registry skopeo
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=http "$@"; }
TRIALS=${FERRY_CRASH_TRIALS:-20}

svc_registry plain
mkdir -p "$T/img"
python3 "$TOOLS/mklayer.py" "$T/img/l0.tar.gz" data 11 6 3 200
python3 "$TOOLS/mklayer.py" "$T/img/l1.tar.gz" data 12 6 3
python3 "$TOOLS/mklayer.py" "$T/img/l2.tar.gz" data 13 4 4
python3 "$TOOLS/mklayer.py" "$T/img/l3.tar.gz" data 14 2 2 100
python3 "$TOOLS/mklayout.py" "$T/img/oci" v1 "$T"/img/l{0,1,2,3}.tar.gz
ref=$(svc_push "oci:$T/img/oci:v1" ferry/crash:v1 2>"$T/push.err") ||
  { cat "$T/push.err" >&2; fail "skopeo could not push the image"; }
size=$(du -cb "$T"/img/l?.tar.gz | tail -1 | cut -f1)
ok "pushed a 4-layer image of $((size / 1000000)) MB as $ref"

# How long one whole fetch takes here: the kills fall in its first 80%.
start=$(date +%s%N)
expect_status 0 F fetch "docker://$ref"
id=$(cat "$T/out")
window_ms=$((($(date +%s%N) - start) / 1000000))
ok "a whole fetch takes ${window_ms} ms: $id"
reset_store() {
  expect_status 0 F image rm "$id"
  expect_status 0 F image gc --grace-period=0s
  [ -z "$(find "$D/cas/blobs" -type f ! -name '.blob.tmp-*')" ] || fail "gc left blobs behind"
}
reset_store

killed=0
for ((trial = 1; trial <= TRIALS; trial++)); do
  delay_ms=$((RANDOM % (window_ms * 4 / 5 + 1)))
  "$FERRY" --dir "$D" --insecure-options=http fetch "docker://$ref" >"$T/fetch.out" 2>"$T/fetch.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  set +e
  wait "$pid" 2>/dev/null
  status=$?
  set -e
  case $status in
    0) ;;
    137) killed=$((killed + 1)) ;;
    *) cat "$T/fetch.err" >&2; fail "trial $trial: the fetch exited $status before the kill" ;;
  esac
  expect_status 0 F image verify
  expect_status 0 F fetch "docker://$ref"
  [ "$(cat "$T/out")" = "$id" ] || fail "trial $trial: the re-fetch gave $(cat "$T/out"), want $id"
  expect_status 0 F image verify
  echo "# trial $trial: kill after ${delay_ms} ms (exit $status); verify clean, re-fetch ok"
  reset_store
done
ok "$TRIALS trials ($killed killed mid-fetch, the rest had finished): verify clean after each, every re-fetch succeeded"

# The leftovers of killed fetches (temp blobs) are gc's to remove.
expect_status 0 F image gc --grace-period=0s
left=$(find "$D/cas" -name '.blob.tmp-*' | wc -l)
[ "$left" = 0 ] || fail "$left temporary blobs survived gc"
ok "gc removed every leftover temp file"
echo "$checks passed, 0 failed"
