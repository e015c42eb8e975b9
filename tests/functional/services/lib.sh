# shellcheck shell=bash disable=SC2034  # the variables it sets are for the sourcing test
# Services for functional tests, sourced after tests/functional/lib.sh:
#
#   . "$(dirname "$0")/services/lib.sh"
#
# Everything lives under $T (the test's temp dir) and is stopped by the EXIT trap, which this
# file extends (services first, then the trap that was there, e.g. lib.sh's rm -rf "$T").
# SERVICES_OWNER_PID is set to this shell, so a watchdog stops the services even if the test is
# SIGKILLed before its trap runs.
#
#   svc_require            skips the test (exit 77) naming what is missing, if a peer is absent
#   svc_ca                 makes the shared test CA: exports CA_DIR ($T/ca; ca.crt, server.*)
#   svc_registry MODE [DIR]  starts docker-registry (plain|tls|htpasswd|token; DIR defaults to
#                          $T/registry-MODE) and sets REGISTRY_DIR plus the variables of
#                          `registry.sh env` (REGISTRY_HOST, REGISTRY_URL, REGISTRY_CA, ...)
#   svc_push SRC REPO[:TAG] [DIR] [SKOPEO-ARGS...]   push.sh into REGISTRY_DIR (or DIR);
#                          prints the reference
#   svc_nginx [DIR]        starts nginx (DIR defaults to $T/nginx) and sets NGINX_DIR plus the
#                          variables of `nginx.sh env` (NGINX_HTTPS_URL, NGINX_WWW, NGINX_CA...)
#   svc_gpg NAME [KEYDIR]  makes a key (KEYDIR defaults to $T/gpg) and sets GPG_HOME,
#                          GPG_PUBKEY (armored public key file), GPG_FPR
#   svc_fault_proxy UPSTREAM [DIR]  starts fault_proxy.py in front of UPSTREAM (an http URL;
#                          DIR defaults to $T/fault-proxy) and sets FAULT_PROXY_HOST
#                          (127.0.0.1:PORT), FAULT_PROXY_RULES (the rules file, empty: all
#                          pass) and FAULT_PROXY_LOG (one line per request)
#   svc_mds [DIR]          starts `$FERRY metadata-service` (DIR defaults to $T/mds): sets
#                          MDS_SOCKET (registration socket), MDS_VERIFY_URL (hmac/verify on the
#                          host's 127.0.0.1), MDS_PID, MDS_LOG
#   svc_hosts NAME...      (in services/netns.sh's private namespaces only) bind-mounts a hosts
#                          file mapping localhost and each NAME to 127.0.0.1 over /etc/hosts
#   svc_stall PORT         starts stall.py on 127.0.0.1:PORT with the test CA's server
#                          certificate (a TLS server that answers 100 bytes, then goes silent)
#   svc_stop_all           stops everything started so far (also run by the EXIT trap)
SERVICES=${SERVICES:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
: "${T:?source tests/functional/lib.sh first}"
. "$SERVICES/common.sh"  # svc_alive, svc_stop_pidfile, svc_watchdog, SVC_PYTHON
export SERVICES_OWNER_PID=$$
_svc_stops=()

svc_require() {
  local missing=() c
  for c in docker-registry skopeo nginx htpasswd gpg gpgv gpgconf openssl curl python3 flock; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "SKIP: missing peer programs: ${missing[*]}"
    exit 77
  fi
}

svc_ca() {
  export CA_DIR=${CA_DIR:-$T/ca}
  "$SERVICES/ca.sh" "$CA_DIR" >/dev/null
}

svc_stop_all() {
  local i
  for ((i = ${#_svc_stops[@]} - 1; i >= 0; i--)); do
    eval "${_svc_stops[i]}" >/dev/null 2>&1 || true
  done
  _svc_stops=()
}

svc_registry() {
  local mode=${1:?MODE} d=${2:-$T/registry-$1}
  svc_ca
  _svc_stops+=("$(printf '%q stop %q' "$SERVICES/registry.sh" "$d")")
  "$SERVICES/registry.sh" start "$mode" "$d" >/dev/null
  REGISTRY_DIR=$d
  eval "$("$SERVICES/registry.sh" env "$d")"
}

svc_push() {
  local src=${1:?SRC} repo=${2:?REPO} d=${3:-${REGISTRY_DIR:?no registry}}
  shift 3 2>/dev/null || shift $#
  "$SERVICES/push.sh" "$src" "$repo" "$d" "$@"
}

svc_nginx() {
  local d=${1:-$T/nginx}
  svc_ca
  _svc_stops+=("$(printf '%q stop %q' "$SERVICES/nginx.sh" "$d")")
  "$SERVICES/nginx.sh" start "$d" >/dev/null
  NGINX_DIR=$d
  eval "$("$SERVICES/nginx.sh" env "$d")"
}

svc_gpg() {
  local name=${1:?NAME} h=${2:-$T/gpg} out
  _svc_stops+=("$(printf '%q stop %q' "$SERVICES/gpg.sh" "$h")")
  out=$("$SERVICES/gpg.sh" gen "$h" "$name")
  GPG_HOME=$(cd "$h" && pwd)
  GPG_PUBKEY=$(sed -n 1p <<<"$out")
  GPG_FPR=$(sed -n 2p <<<"$out")
}

svc_fault_proxy() {
  local upstream=${1:?UPSTREAM} d=${2:-$T/fault-proxy} i
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  : >"$d/rules"
  : >"$d/requests.log"
  rm -f "$d/port"
  _svc_stops+=("$(printf 'svc_stop_pidfile %q/watchdog.pid watchdog.py; svc_stop_pidfile %q/pid fault_proxy.py' "$d" "$d")")
  "$SVC_PYTHON" "$SERVICES/fault_proxy.py" --upstream "$upstream" --rules "$d/rules" \
    --port-file "$d/port" --log "$d/requests.log" </dev/null >"$d/proxy.log" 2>&1 &
  echo $! >"$d/pid"
  for ((i = 0; i < 200; i++)); do
    [ -s "$d/port" ] && break
    svc_alive "$(cat "$d/pid")" || break
    sleep 0.05
  done
  [ -s "$d/port" ] || { cat "$d/proxy.log" >&2; svc_die "fault_proxy.py did not start"; }
  svc_watchdog "$d" "$(cat "$d/pid")"
  FAULT_PROXY_HOST=127.0.0.1:$(cat "$d/port")
  FAULT_PROXY_RULES=$d/rules
  FAULT_PROXY_LOG=$d/requests.log
}

svc_mds() {
  local d=${1:-$T/mds} port i j
  : "${FERRY:?FERRY must point to the ferry binary}"
  mkdir -p "$d"
  MDS_LOG=$d/mds.log
  for ((i = 0; i < 5; i++)); do
    port=$(svc_free_port)
    "$FERRY" --debug metadata-service --listen-unix "$d/mds.sock" \
      --listen-tcp "127.0.0.1:$port" 2>>"$MDS_LOG" &
    MDS_PID=$!
    echo "$MDS_PID" >"$d/pid"
    _svc_stops+=("$(printf 'svc_stop_watchdog %q; svc_stop_pidfile %q/pid metadata-service' "$d" "$d")")
    # The socket path appears only once the service listens on it.
    for ((j = 0; j < 200; j++)); do
      [ -S "$d/mds.sock" ] && break
      svc_alive "$MDS_PID" || break
      sleep 0.05
    done
    if [ -S "$d/mds.sock" ] && svc_alive "$MDS_PID"; then
      svc_watchdog "$d" "$MDS_PID"
      MDS_SOCKET=$d/mds.sock
      MDS_VERIFY_URL=http://127.0.0.1:$port/acMetadata/v1/pod/hmac/verify
      return 0
    fi
  done
  svc_die "ferry metadata-service did not start: $(tail -3 "$MDS_LOG")"
}

svc_hosts() {
  [ -n "${FERRY_PRIVATE_NET:-}" ] ||
    { echo "svc_hosts: source services/netns.sh first (it needs a private mount namespace)" >&2; return 1; }
  local n
  { echo "127.0.0.1 localhost"; for n in "$@"; do echo "127.0.0.1 $n"; done; } >"$T/hosts"
  mount --bind "$T/hosts" /etc/hosts
}

svc_stall() {
  local port=${1:?PORT} d=$T/stall-$1 i
  svc_ca
  mkdir -p "$d"
  "$SERVICES/stall.py" "$port" "$CA_DIR/server-chain.crt" "$CA_DIR/server.key" \
    </dev/null >"$d/out" 2>&1 &
  echo $! >"$d/pid"
  _svc_stops+=("$(printf 'svc_stop_pidfile %q stall.py' "$d/pid")")
  svc_watchdog "$d" "$(cat "$d/pid")"
  _svc_stops+=("$(printf 'svc_stop_watchdog %q' "$d")")
  for ((i = 0; i < 100; i++)); do
    grep -q ready "$d/out" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$d/out" >&2
  return 1
}

# shellcheck disable=SC2120  # "set --" inside, on purpose
_svc_install_trap() {
  local prev cmd=""
  prev=$(trap -p EXIT)
  if [ -n "$prev" ]; then
    eval "set -- $prev"
    cmd=$3
  fi
  # shellcheck disable=SC2064  # the previous trap's text is meant to be fixed now
  trap "svc_stop_all; $cmd" EXIT
}
_svc_install_trap
