# shellcheck shell=bash
# Internal helpers shared by registry.sh, nginx.sh and token_issuer startup (sourced).
SERVICES_DIR=${SERVICES_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# Debian's interpreter: fast to start (a pyenv shim first in PATH costs ~0.3 s a call).
if [ -z "${SVC_PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then SVC_PYTHON=/usr/bin/python3; else SVC_PYTHON=python3; fi
fi

svc_die() {
  echo "services: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 that was free a moment ago. Callers retry when a bind then fails.
svc_free_port() {
  "$SVC_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

svc_alive() { # PID
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# svc_wait_http PID URL CODES [CURL-ARGS...]: waits (10 s) until URL answers with one of CODES
# (a regex such as '200|401') while PID lives. Returns 1 if PID died or time ran out.
svc_wait_http() {
  local pid=$1 url=$2 codes=$3 code i
  shift 3
  for ((i = 0; i < 200; i++)); do
    svc_alive "$pid" || return 1
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
    if [[ $code =~ ^($codes)$ ]]; then return 0; fi
    sleep 0.05
  done
  return 1
}

# svc_owns_port PID PORT...: each PORT is a listening TCP socket of PID, so a readiness probe
# did not get its answer from some other service that took the port first. Needs ss
# (iproute2); without it the check passes.
svc_owns_port() {
  local pid=$1 port
  shift
  command -v ss >/dev/null 2>&1 || return 0
  for port in "$@"; do
    ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid," || return 1
  done
}

# svc_stop_pidfile FILE EXPECT: SIGTERM the process in FILE if its command line contains EXPECT
# (guards against a recycled pid), wait up to 10 s, then SIGKILL. Removes FILE.
svc_stop_pidfile() {
  local f=$1 expect=$2 pid i
  [ -s "$f" ] || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  if svc_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expect"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      svc_alive "$pid" || break
      sleep 0.05
    done
    if svc_alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do svc_alive "$pid" || break; sleep 0.05; done
    fi
  fi
  rm -f "$f"
}

# svc_watchdog DIR PID...: if SERVICES_OWNER_PID is set (services/lib.sh sets it to the test's
# shell), start watchdog.py so PIDs get SIGTERM when that shell is gone even if the test was
# SIGKILLed before its trap ran. Its pid goes to DIR/watchdog.pid.
svc_watchdog() {
  local dir=$1
  shift
  [ -n "${SERVICES_OWNER_PID:-}" ] || return 0
  "$SVC_PYTHON" "$SERVICES_DIR/watchdog.py" "$SERVICES_OWNER_PID" "$@" </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/watchdog.pid"
}

svc_stop_watchdog() { # DIR
  svc_stop_pidfile "$1/watchdog.pid" watchdog.py
}
