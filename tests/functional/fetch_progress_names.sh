#!/usr/bin/env bash
# docker:// fetches against Debian's docker-registry: the download progress (plain lines when
# stderr is not a terminal; on a terminal — a pty made by util-linux `script` — one line per
# layer redrawn in place), and one image keeping every name it was fetched under (the same
# manifest pushed to two repositories by skopeo: each name finds it with the registry gone).
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/services/lib.sh"
svc_require docker-registry skopeo
command -v script >/dev/null || skip "script (util-linux) is not installed"
D=$T/data
F() { "$FERRY" --dir "$D" --insecure-options=http "$@"; }

svc_registry plain
ref_a=$(svc_push "oci:$FIXTURES/oci:v2" "ferry/a:v2")
ref_b=$(svc_push "oci:$FIXTURES/oci:v2" "mirror/b:stable")
layers=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))' \
  < <(skopeo inspect --raw --tls-verify=false "docker://$ref_a"))

# Plain mode: stderr is a file. One line as each layer starts and one as it ends.
expect_status 0 F fetch "docker://$ref_a"
digest=$(cat "$T/out")
[ "$(grep -c '^Downloading sha256:' "$T/err")" -eq "$layers" ] || fail "start lines: $(cat "$T/err")"
[ "$(grep -c '^Downloaded sha256:.* in .* s (' "$T/err")" -eq "$layers" ] || fail "finish lines: $(cat "$T/err")"
if grep -q $'\e' "$T/err" || grep -q $'\r' "$T/err"; then fail "terminal codes in plain output"; fi
ok "plain progress: $layers start and $layers finish lines, no terminal codes"

# The same manifest under another repository and tag: the same image, a second name.
expect_status 0 F fetch "docker://$ref_b"
[ "$(cat "$T/out")" = "$digest" ] || fail "second name gave $(cat "$T/out"), want $digest"
[ ! -s "$T/err" ] || fail "layers the store has were downloaded again: $(cat "$T/err")"

# Terminal mode: a pty from script(1); a fresh store so the layers are downloaded.
SHELL=/bin/bash script -qec "$(printf '%q ' "$FERRY" --dir "$T/tty" --insecure-options=http fetch "docker://$ref_a")" /dev/null >"$T/tty.out" </dev/null ||
  { cat "$T/tty.out" >&2; fail "fetch under script failed"; }
grep -q "$digest" "$T/tty.out" || fail "no ID in the terminal output"
grep -q $'\e\[[0-9]*F' "$T/tty.out" || fail "the display is not redrawn in place: $(cat -v "$T/tty.out" | head -5)"
grep -q "total $layers/$layers blobs" "$T/tty.out" || fail "no final summary line: $(cat -v "$T/tty.out" | tail -5)"
[ "$(grep -ao 'sha256:[0-9a-f]\{12\}  [0-9.]* [kMG]\?B / [0-9.]* [kMG]\?B  done' "$T/tty.out" | sort -u | wc -l)" -eq "$layers" ] ||
  fail "not one finished line per layer: $(cat -v "$T/tty.out" | tail -8)"
ok "terminal progress: one line per layer with bytes, total and rate, redrawn in place"

# Both names find the image with the registry gone (pull policy never answers from the store).
svc_stop_all
for ref in "$ref_a" "$ref_b"; do
  expect_status 0 F fetch --pull-policy=never "docker://$ref"
  [ "$(cat "$T/out")" = "$digest" ] || fail "$ref: $(cat "$T/out")"
done
expect_status 254 F fetch --pull-policy=never "docker://${ref_b%:*}:v2"
ok "each name and tag finds the one image; a tag of another repository does not"
expect_status 0 F --format=json image list
python3 - "$T/out" "${ref_a%:*}" "${ref_b%:*}" <<'PY'
import json, sys
images = json.load(open(sys.argv[1]))
assert len(images) == 1, images
names = {(n["name"], n["tag"]) for n in images[0]["names"]}
assert (sys.argv[2], "v2") in names and (sys.argv[3], "stable") in names, names
assert sorted(images[0]["tags"]) == ["stable", "v2"], images[0]["tags"]
PY
ok "image list shows both names"
expect_status 0 F image verify
echo "$checks passed, 0 failed"
