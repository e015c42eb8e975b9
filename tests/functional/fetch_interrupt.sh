#!/usr/bin/env bash
# An interrupted fetch leaves nothing behind (issue 13 item 7): an ACI served slowly over plain
# http is fetched, and the fetch gets SIGINT (Ctrl-C), SIGTERM or SIGHUP in the middle of the
# download: it ends by that signal with no temporary file or directory left in the store. A
# fetch killed by SIGKILL cannot clean up: the next `ferry image gc`, whatever its grace period,
# removes what it left at once (no writer holds the store while gc does).
source "$(dirname "$0")/lib.sh"
D=$T/data
set -m  # job control: a background fetch does not ignore SIGINT, as it would in a script
F() { "$FERRY" --dir "$D" --insecure-options=http,image "$@"; }

# A big ACI (random data does not compress) and a server that sends it 64 KiB every 50 ms.
mkdir -p "$T/img/rootfs"
head -c $((6 << 20)) /dev/urandom >"$T/img/rootfs/blob"
cat >"$T/img/manifest" <<'M'
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/slow","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}
M
tar -C "$T/img" -czf "$T/slow.aci" manifest rootfs
cat >"$T/serve.py" <<'PY'
import http.server, os, sys, time
path = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.endswith(".aci"):
            self.send_error(404); return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            for i in range(0, len(data), 65536):
                self.wfile.write(data[i:i + 65536]); self.wfile.flush(); time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$T/serve.py" "$T/slow.aci" >"$T/port" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$T/port")/slow.aci

temps() { find "$D/cas" \( -name '.blob.tmp-*' -o -path "$D/cas/tmp/*" \) -print 2>/dev/null; }
# Starts a fetch and waits until its download is under way (a temp file of some size).
start_fetch() {
  # ferry itself in the background, not the shell function F: $! would be a subshell, which the
  # signal would reach instead of ferry.
  "$FERRY" --dir "$D" --insecure-options=http,image fetch "$url" >"$T/fetch.out" 2>"$T/fetch.err" &
  pid=$!
  for _ in $(seq 1 400); do
    if [ -n "$(find "$D/cas" \( -name '.blob.tmp-*' -o -path "$D/cas/tmp/*" \) -type f -size +100k 2>/dev/null)" ]; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$T/fetch.err" >&2; fail "the fetch ended early"; }
    sleep 0.05
  done
  fail "the download never started"
}

for sig in INT TERM HUP; do
  start_fetch
  [ -n "$(temps)" ] || fail "SIG$sig: no temp file while downloading"
  kill -"$sig" "$pid"
  set +e
  wait "$pid"
  status=$?
  set -e
  [ "$status" -eq $((128 + $(kill -l "$sig"))) ] || fail "SIG$sig: the fetch exited $status"
  left=$(temps)
  [ -z "$left" ] || fail "SIG$sig: the interrupted fetch left $left"
  ok "SIG$sig in the middle of a download: the fetch ends by it and leaves no temp file"
done

start_fetch
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
[ -n "$(temps)" ] || fail "SIGKILL left no temp file (the test proves nothing)"
expect_status 0 F image gc
grep -q ' [1-9][0-9]* temporary files' "$T/out" || fail "image gc: $(cat "$T/out")"
left=$(temps)
[ -z "$left" ] || fail "image gc (grace 24h) kept a killed fetch's temps: $left"
ok "a fetch killed by SIGKILL: image gc removes its temps at once ($(cat "$T/out"))"

# A whole fetch still works, and gc leaves a fetch in progress alone (it waits for it).
start_fetch
expect_status 0 F image gc --grace-period=0s
wait "$pid" || { cat "$T/fetch.err" >&2; fail "a fetch concurrent with gc failed"; }
expect_status 0 F image verify
ok "a fetch running while image gc runs completes; the store verifies"
echo "$checks passed, 0 failed"
