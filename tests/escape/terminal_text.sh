#!/usr/bin/env bash
# Escape sequences for the operator's terminal in what ferry prints as text: an image's label
# (its version, in `ferry list` and `ferry image list`) and an app's status as a kvm guest writes
# it (status/<app>.json, through its share: played here by writing the file, after the pod, as the
# guest's root would). A hostile image or guest that reaches the terminal with ESC or C1 bytes
# can retitle it, rewrite what the operator sees, or (on some terminals) make it type. Every such
# string must be shown escaped (\x1b, \u009b), a newline must not forge a line of `ferry status`,
# and --format=json must stay JSON (escaped by the encoder).
source "$(dirname "$0")/escape_lib.sh"
escape_setup

esc=$'\x1b'
app='{"exec":["/bin/echo","ran"],"user":"0","group":"0"}'
img=$(hostile_image termtext "$app")
# The image's version label (hostile_image writes "1") made: ESC ] 0 ; title BEL (retitle),
# CSI 2J (clear), a C1 CSI (U+009B), a newline.
jq -c '(.labels[] | select(.name == "version") | .value) =
  "1\u001b]0;pwned\u0007\u001b[2J\u009b31mred\nexit=0"' "$T/img-termtext/manifest" >"$T/manifest"
mv "$T/manifest" "$T/img-termtext/manifest"
grep -q pwned "$T/img-termtext/manifest" || fail "the hostile label is not in the manifest"
tar -C "$T/img-termtext" --numeric-owner -czf "$img" manifest rootfs

run_pod "a pod of an image with escape sequences in its label" --uuid-file-save="$T/u" "$img"
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the pod did not run ($st)"; }
u=$(cat "$T/u")
status=$D/pods/run/$u/status
sf=$(find "$status" -maxdepth 1 -name '*.json' | head -n1)
[ -f "$sf" ] || fail "no status file in $status"
name=$(basename "$sf" .json)
# What a kvm guest's root can write there: a signal name with the same sequences.
printf '{"name":"%s","state":"exited","pid":2,"exitCode":null,"signal":"KILL\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\nexit=0","oomKilled":false}\n' \
  "$name" >"$sf"

# clean WHAT FILE: no ESC, no C1 CSI (UTF-8 c2 9b), the escaped forms shown instead.
clean() {
  local what=$1 file=$2
  if grep -q "$esc" "$file" || grep -q $'\xc2\x9b' "$file"; then
    cat -v "$file" >&2
    fail "$what: printed a pod's escape sequence raw"
  fi
  grep -qF '\x1b]0;pwned' "$file" || { cat -v "$file" >&2; fail "$what: the string is not shown escaped"; }
  grep -qF '\u009b31m' "$file" || { cat -v "$file" >&2; fail "$what: the C1 CSI is not shown escaped"; }
  ok "$what: shown escaped"
}
F list >"$T/list" 2>&1 || fail "ferry list failed"
clean "ferry list" "$T/list"
F list --full >"$T/list.full" 2>&1 || fail "ferry list --full failed"
clean "ferry list --full" "$T/list.full"
F status "$u" >"$T/status" 2>&1 || fail "ferry status failed"
clean "ferry status" "$T/status"
[ "$(grep -c '^exit=' "$T/status")" -eq 1 ] || { cat "$T/status" >&2; fail "ferry status: a newline in the status forged a line"; }
ok "ferry status: one exit= line"
F image list >"$T/images" 2>&1 || fail "ferry image list failed"
clean "ferry image list" "$T/images"
# JSON: escaped by the encoder, and it still reads back as the pod wrote it.
F status --format=json "$u" >"$T/status.json" || fail "ferry status --format=json failed"
! grep -q "$esc" "$T/status.json" || fail "ferry status --format=json: a raw ESC"
jq -e '.apps[0].signal | contains("\u001b]0;pwned")' "$T/status.json" >/dev/null ||
  { cat "$T/status.json" >&2; fail "ferry status --format=json: the signal does not read back"; }
ok "ferry status --format=json: escaped by JSON, reads back"
# The encoder leaves C1 raw (valid JSON): ferry's JSON output escapes it too, for the terminal.
for what in "list" "image list" "status $u"; do
  # shellcheck disable=SC2086  # $what is the subcommand and its argument
  F $what --format=json >"$T/out.json" || fail "ferry $what --format=json failed"
  if grep -q "$esc" "$T/out.json" || grep -q $'\xc2\x9b' "$T/out.json"; then
    cat -v "$T/out.json" >&2
    fail "ferry $what --format=json: printed a C1 CSI (or an ESC) raw"
  fi
  ok "ferry $what --format=json: no raw ESC or C1"
done
F image list --format=json | jq -e '[.. | strings | select(contains("\u009b31mred"))] | length > 0' >/dev/null ||
  { F image list --format=json | cat -v >&2; fail "ferry image list --format=json: the label does not read back"; }
ok "ferry image list --format=json: the label reads back"
F image cat-manifest "$(F image list --format=json | jq -r '.[0].id')" >"$T/cat.json" ||
  fail "ferry image cat-manifest failed"
grep -q $'\xc2\x9b' "$T/cat.json" && { cat -v "$T/cat.json" >&2; fail "ferry image cat-manifest: printed a C1 CSI raw"; }
jq -e '[.. | strings | select(contains("\u009b31mred"))] | length > 0' "$T/cat.json" >/dev/null ||
  { cat -v "$T/cat.json" >&2; fail "ferry image cat-manifest: the label does not read back"; }
ok "ferry image cat-manifest: no raw C1, reads back"
host_unchanged "terminal text"
echo "escape.terminal_text: $checks checks passed"
