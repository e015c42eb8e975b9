#!/usr/bin/env bash
# Debian's docker-registry (distribution 2.8) on 127.0.0.1, one instance per DIR.
#
#   registry.sh start MODE DIR   MODE: plain | tls | htpasswd | token.  Prints the port.
#   registry.sh stop DIR         stops the registry (and the token issuer), waits for them.
#   registry.sh env DIR          prints shell assignments (eval them): REGISTRY_MODE,
#                                REGISTRY_PORT, REGISTRY_HOST (127.0.0.1:PORT), REGISTRY_URL,
#                                REGISTRY_CA, REGISTRY_CERT_DIR, REGISTRY_USER, REGISTRY_PASSWORD,
#                                REGISTRY_TOKEN_URL, REGISTRY_TOKEN_LOG, REGISTRY_SERVICE
#   registry.sh skopeo-flags DIR [src|dest]   skopeo TLS/credential flags for DIR, one a line
#   registry.sh inspect DIR REPO:TAG [ARGS...] skopeo inspect docker://HOST/REPO:TAG
#
# plain     HTTP.
# tls       HTTPS, server cert from the test CA (ca.sh).
# htpasswd  TLS + basic auth (htpasswd -Bbn).
# token     TLS + `auth: token`; token_issuer.py runs on its own port over HTTPS (realm
#           https://127.0.0.1:IPORT/token, service ferry-test-registry, issuer
#           ferry-test-issuer, rootcertbundle = the issuer's own signing cert).
#
# Environment: CA_DIR (default DIR/ca; share one between services), REGISTRY_USER (ferry),
# REGISTRY_PASSWORD (ferry-secret), TOKEN_HEADER (x5c | kid | both; default x5c),
# TOKEN_ANONYMOUS_ACTIONS (e.g. "pull": anonymous token requests get those; default refused),
# TOKEN_EXPIRES (seconds, 300), REGISTRY_LISTEN_PORT (a fixed port instead of a free one).
#
# DIR gets: config.yml storage/ registry.log port pid mode url ca.crt certs.d/ca.crt user
# password htpasswd, and token/ (issuer.key issuer.crt port pid issuer.log requests.log).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

absdir() { mkdir -p "$1" && (cd "$1" && pwd); }

write_config() { # DIR MODE PORT
  local d=$1 mode=$2 port=$3
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: info"
    echo "  accesslog:"
    echo "    disabled: false"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $d/storage"
    echo "  delete:"
    echo "    enabled: true"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: ferry-test-secret-$port"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    if [ "$mode" != plain ]; then
      echo "  tls:"
      echo "    certificate: $CA_DIR/server.crt"
      echo "    key: $CA_DIR/server.key"
    fi
    case $mode in
      htpasswd)
        echo "auth:"
        echo "  htpasswd:"
        echo "    realm: ferry-test-registry"
        echo "    path: $d/htpasswd"
        ;;
      token)
        echo "auth:"
        echo "  token:"
        echo "    realm: https://127.0.0.1:$(cat "$d/token/port")/token"
        echo "    service: ferry-test-registry"
        echo "    issuer: ferry-test-issuer"
        echo "    rootcertbundle: $d/token/issuer.crt"
        ;;
    esac
  } >"$d/config.yml"
}

start_issuer() { # DIR
  local t=$1/token
  mkdir -p "$t"
  if [ ! -s "$t/issuer.key" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -sha256 \
      -keyout "$t/issuer.key" -out "$t/issuer.crt" -subj "/O=ferry tests/CN=ferry-test-issuer" \
      2>/dev/null
  fi
  rm -f "$t/port"
  : >"$t/requests.log"
  "$SVC_PYTHON" "$here/token_issuer.py" --port 0 --port-file "$t/port" \
    --tls-cert "$CA_DIR/server.crt" --tls-key "$CA_DIR/server.key" \
    --sign-key "$t/issuer.key" --sign-cert "$t/issuer.crt" \
    --issuer ferry-test-issuer --service ferry-test-registry \
    --user "$user" --password "$password" --header "${TOKEN_HEADER:-x5c}" \
    --anonymous-actions "${TOKEN_ANONYMOUS_ACTIONS:-}" --expires "${TOKEN_EXPIRES:-300}" \
    --log "$t/requests.log" </dev/null >"$t/issuer.log" 2>&1 &
  echo $! >"$t/pid"
  local i
  for ((i = 0; i < 200; i++)); do
    [ -s "$t/port" ] && break
    svc_alive "$(cat "$t/pid")" || break
    sleep 0.05
  done
  [ -s "$t/port" ] && svc_wait_http "$(cat "$t/pid")" "https://127.0.0.1:$(cat "$t/port")/healthz" 200 \
    --cacert "$CA_DIR/ca.crt" || {
    cat "$t/issuer.log" >&2
    svc_die "token issuer did not start"
  }
}

cmd_start() {
  local mode=${1:?MODE} d
  d=$(absdir "${2:?DIR}")
  case $mode in plain | tls | htpasswd | token) ;; *) usage ;; esac
  command -v docker-registry >/dev/null || svc_die "docker-registry is not installed"
  if [ -s "$d/pid" ] && svc_alive "$(cat "$d/pid")"; then svc_die "a registry already runs in $d"; fi
  CA_DIR=$(absdir "${CA_DIR:-$d/ca}")
  user=${REGISTRY_USER:-ferry}
  password=${REGISTRY_PASSWORD:-ferry-secret}
  mkdir -p "$d/storage" "$d/certs.d"
  echo "$mode" >"$d/mode"
  echo "$user" >"$d/user"
  echo "$password" >"$d/password"
  rm -f "$d/port" "$d/url" "$d/pid"
  local scheme=https
  if [ "$mode" = plain ]; then
    scheme=http
  fi
  "$here/ca.sh" "$CA_DIR" >/dev/null
  cp "$CA_DIR/ca.crt" "$d/ca.crt"
  cp "$CA_DIR/ca.crt" "$d/certs.d/ca.crt"
  echo "$CA_DIR" >"$d/ca_dir"
  if [ "$mode" = htpasswd ]; then
    command -v htpasswd >/dev/null || svc_die "htpasswd (apache2-utils) is not installed"
    htpasswd -Bbn "$user" "$password" >"$d/htpasswd"
  fi
  [ "$mode" = token ] && start_issuer "$d"
  local port pid url
  local curlargs=(--cacert "$CA_DIR/ca.crt")
  for _ in 1 2 3 4 5; do
    port=${REGISTRY_LISTEN_PORT:-$(svc_free_port)}
    write_config "$d" "$mode" "$port"
    docker-registry serve "$d/config.yml" </dev/null >"$d/registry.log" 2>&1 &
    pid=$!
    echo "$pid" >"$d/pid"
    url="$scheme://127.0.0.1:$port"
    if svc_wait_http "$pid" "$url/v2/" '200|401' "${curlargs[@]}" && svc_owns_port "$pid" "$port"; then
      echo "$port" >"$d/port"
      echo "$url" >"$d/url"
      local pids=("$pid")
      [ "$mode" = token ] && pids+=("$(cat "$d/token/pid")")
      svc_watchdog "$d" "${pids[@]}"
      echo "$port"
      return 0
    fi
    svc_stop_pidfile "$d/pid" docker-registry
    if ! grep -q 'address already in use' "$d/registry.log"; then break; fi
    [ -z "${REGISTRY_LISTEN_PORT:-}" ] || break
    echo "registry.sh: port $port was taken, retrying" >&2
  done
  cat "$d/registry.log" >&2
  [ "$mode" = token ] && svc_stop_pidfile "$d/token/pid" token_issuer.py
  svc_die "docker-registry ($mode) did not start in $d"
}

cmd_stop() {
  local d=${1:?DIR}
  [ -d "$d" ] || return 0
  svc_stop_watchdog "$d"
  svc_stop_pidfile "$d/pid" docker-registry
  svc_stop_pidfile "$d/token/pid" token_issuer.py
}

cmd_env() {
  local d
  d=$(cd "${1:?DIR}" && pwd)
  [ -s "$d/port" ] || svc_die "no registry started in $d"
  local mode port
  mode=$(cat "$d/mode")
  port=$(cat "$d/port")
  printf 'REGISTRY_MODE=%q\n' "$mode"
  printf 'REGISTRY_PORT=%q\n' "$port"
  printf 'REGISTRY_HOST=%q\n' "127.0.0.1:$port"
  printf 'REGISTRY_URL=%q\n' "$(cat "$d/url")"
  printf 'REGISTRY_CA=%q\n' "$d/ca.crt"
  printf 'REGISTRY_CERT_DIR=%q\n' "$d/certs.d"
  printf 'REGISTRY_USER=%q\n' "$(cat "$d/user")"
  printf 'REGISTRY_PASSWORD=%q\n' "$(cat "$d/password")"
  printf 'REGISTRY_SERVICE=%q\n' ferry-test-registry
  if [ "$mode" = token ]; then
    printf 'REGISTRY_TOKEN_URL=%q\n' "https://127.0.0.1:$(cat "$d/token/port")/token"
    printf 'REGISTRY_TOKEN_LOG=%q\n' "$d/token/requests.log"
  else
    printf 'REGISTRY_TOKEN_URL=\nREGISTRY_TOKEN_LOG=\n'
  fi
}

# skopeo-flags DIR [src|dest|""]: TLS and credential flags for skopeo against this registry.
cmd_skopeo_flags() {
  local d side=${2:-}
  d=$(cd "${1:?DIR}" && pwd)
  local p=${side:+--$side-}
  [ -n "$p" ] || p=--
  local mode
  mode=$(cat "$d/mode")
  case $mode in
    plain) echo "${p}tls-verify=false" ;;
    *) echo "${p}cert-dir=$d/certs.d" ;;
  esac
  case $mode in
    htpasswd | token) echo "${p}creds=$(cat "$d/user"):$(cat "$d/password")" ;;
    *) echo "${p}no-creds" ;;
  esac
}

cmd_inspect() {
  local d=${1:?DIR} ref=${2:?REPO:TAG}
  shift 2
  local flags
  mapfile -t flags < <(cmd_skopeo_flags "$d")
  skopeo inspect "${flags[@]}" "$@" "docker://127.0.0.1:$(cat "$d/port")/$ref"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  env) shift; cmd_env "$@" ;;
  skopeo-flags) shift; cmd_skopeo_flags "$@" ;;
  inspect) shift; cmd_inspect "$@" ;;
  *) usage ;;
esac
