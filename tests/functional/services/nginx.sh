#!/usr/bin/env bash
# nginx on 127.0.0.1 serving DIR/www over HTTPS (test CA) and plain HTTP; one instance per DIR.
#
#   nginx.sh start DIR     prints the HTTPS port; DIR/https_port, DIR/http_port, DIR/pid
#   nginx.sh stop DIR      stops it and waits
#   nginx.sh env DIR       prints shell assignments: NGINX_HTTPS_PORT NGINX_HTTP_PORT
#                          NGINX_HTTPS_URL (https://localhost:PORT) NGINX_HTTP_URL NGINX_CA
#                          NGINX_WWW NGINX_USER NGINX_PASSWORD
#   nginx.sh discovery DIR PATH [META-LINE...]
#                          publishes an appc discovery page for https://localhost:PORT/PATH:
#                          writes DIR/www/PATH/ac-discovery.html with the given
#                          `<meta name=… content=…>` lines (pass them whole), or with no
#                          META-LINE a default page whose templates point at this server:
#                            ac-discovery         localhost/PATH https://localhost:PORT/PATH/{name}-{version}-{os}-{arch}.{ext}
#                            ac-discovery-pubkeys localhost/PATH https://localhost:PORT/PATH/pubkeys.gpg
#                          (PATH "" publishes the page for the bare host.)
#
# Extra configuration: DIR/conf.d/*.conf (written before start) is included inside the server
# block, e.g. `location /cached/ { add_header Cache-Control "max-age=3600"; }` or
# `location /fail/ { return 500; }`. The server answers for any Host name (tests in their own
# network namespace point their domains at 127.0.0.1 with svc_hosts).
#
# Routing: any request whose query has ac-discovery=1 is answered with
# <path>/ac-discovery.html (404 when absent, so the parent-path fallback of appc discovery can
# be exercised); everything else is a static file under DIR/www. Under /auth/ HTTP basic auth
# is required (DIR/htpasswd; NGINX_USER ferry, NGINX_PASSWORD ferry-secret by default). The
# access log DIR/access.log records the Authorization header presence and the query.
#
# appc names cannot hold a port (AC Identifier: ^[a-z0-9]+([-._~/][a-z0-9]+)*$), so discovery
# of a name like localhost/app always starts at https://localhost/app?ac-discovery=1 (port 443);
# the templates in the page are full URLs and do carry this server's port. To serve discovery
# on 443 itself, set NGINX_HTTPS_PORT=443 (e.g. inside the test's own network namespace).
#
# Environment: CA_DIR (default DIR/ca), NGINX_HTTPS_PORT / NGINX_HTTP_PORT (default: free
# ports), NGINX_USER, NGINX_PASSWORD.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

nginx_bin() {
  local b
  for b in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

write_config() { # DIR HTTPS-PORT HTTP-PORT
  local d=$1 sp=$2 hp=$3
  cat >"$d/nginx.conf" <<C
# written by tests/functional/services/nginx.sh
daemon off;
master_process on;
worker_processes 1;
user root;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  types { application/pgp-signature asc; application/pgp-keys gpg; }
  access_log $d/access.log combined;
  log_format ferry '\$remote_addr "\$request" \$status auth=\$http_authorization host=\$host inm=\$http_if_none_match';
  access_log $d/requests.log ferry;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  sendfile on;
  server_tokens off;
  keepalive_timeout 10s;

  map \$args \$ac_discovery {
    default 0;
    "~(^|&)ac-discovery=1(&|\$)" 1;
  }

  server {
    listen 127.0.0.1:$sp ssl;
    listen 127.0.0.1:$hp;
    server_name localhost 127.0.0.1;
    ssl_certificate $CA_DIR/server-chain.crt;
    ssl_certificate_key $CA_DIR/server.key;
    root $d/www;
    autoindex off;

    location /auth/ {
      auth_basic "ferry-test";
      auth_basic_user_file $d/htpasswd;
      if (\$ac_discovery) {
        rewrite ^(.*?)/?\$ \$1/ac-discovery.html break;
      }
    }
    location / {
      if (\$ac_discovery) {
        rewrite ^(.*?)/?\$ \$1/ac-discovery.html break;
      }
    }
    location ~ /ac-discovery\.html\$ {
      # only reachable through ?ac-discovery=1
      internal;
    }
    include $d/conf.d/*.conf;
  }
}
C
}

cmd_start() {
  local d
  d=${1:?DIR}
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  local bin
  bin=$(nginx_bin) || svc_die "nginx is not installed"
  if [ -s "$d/pid" ] && svc_alive "$(cat "$d/pid")"; then svc_die "nginx already runs in $d"; fi
  CA_DIR=${CA_DIR:-$d/ca}
  mkdir -p "$CA_DIR"
  CA_DIR=$(cd "$CA_DIR" && pwd)
  "$here/ca.sh" "$CA_DIR" >/dev/null
  cp "$CA_DIR/ca.crt" "$d/ca.crt"
  mkdir -p "$d/www" "$d/tmp" "$d/conf.d"
  local user=${NGINX_USER:-ferry} password=${NGINX_PASSWORD:-ferry-secret}
  echo "$user" >"$d/user"
  echo "$password" >"$d/password"
  # nginx's own crypt(): {PLAIN} is accepted by auth_basic_user_file and needs no apache2-utils
  echo "$user:{PLAIN}$password" >"$d/htpasswd"
  rm -f "$d/https_port" "$d/http_port" "$d/pid"
  local sp hp pid
  for _ in 1 2 3 4 5; do
    sp=${NGINX_HTTPS_PORT:-$(svc_free_port)}
    hp=${NGINX_HTTP_PORT:-$(svc_free_port)}
    [ "$sp" != "$hp" ] || continue
    write_config "$d" "$sp" "$hp"
    "$bin" -p "$d" -e "$d/error.log" -c "$d/nginx.conf" </dev/null >"$d/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" >"$d/pid"
    if svc_wait_http "$pid" "https://localhost:$sp/" '200|403|404' --cacert "$CA_DIR/ca.crt" &&
      svc_wait_http "$pid" "http://127.0.0.1:$hp/" '200|403|404' && svc_owns_port "$pid" "$sp" "$hp"; then
      echo "$sp" >"$d/https_port"
      echo "$hp" >"$d/http_port"
      svc_watchdog "$d" "$pid"
      echo "$sp"
      return 0
    fi
    svc_stop_pidfile "$d/pid" nginx
    if ! grep -q 'Address already in use' "$d/error.log" "$d/stdout.log" 2>/dev/null; then break; fi
    [ -z "${NGINX_HTTPS_PORT:-}${NGINX_HTTP_PORT:-}" ] || break
    echo "nginx.sh: port $sp or $hp was taken, retrying" >&2
  done
  cat "$d/stdout.log" "$d/error.log" >&2 2>/dev/null || true
  svc_die "nginx did not start in $d"
}

cmd_stop() {
  local d=${1:?DIR}
  [ -d "$d" ] || return 0
  svc_stop_watchdog "$d"
  svc_stop_pidfile "$d/pid" nginx
}

cmd_env() {
  local d
  d=$(cd "${1:?DIR}" && pwd)
  [ -s "$d/https_port" ] || svc_die "no nginx started in $d"
  printf 'NGINX_HTTPS_PORT=%q\n' "$(cat "$d/https_port")"
  printf 'NGINX_HTTP_PORT=%q\n' "$(cat "$d/http_port")"
  printf 'NGINX_HTTPS_URL=%q\n' "https://localhost:$(cat "$d/https_port")"
  printf 'NGINX_HTTP_URL=%q\n' "http://localhost:$(cat "$d/http_port")"
  printf 'NGINX_CA=%q\n' "$d/ca.crt"
  printf 'NGINX_WWW=%q\n' "$d/www"
  printf 'NGINX_USER=%q\n' "$(cat "$d/user")"
  printf 'NGINX_PASSWORD=%q\n' "$(cat "$d/password")"
}

cmd_discovery() {
  local d=${1:?DIR} path=${2?PATH}
  shift 2
  path=${path#/}
  path=${path%/}
  [ -s "$d/https_port" ] || svc_die "no nginx started in $d"
  local port base name
  port=$(cat "$d/https_port")
  base="https://localhost:$port${path:+/$path}"
  name="localhost${path:+/$path}"
  mkdir -p "$d/www/$path"
  {
    echo '<!DOCTYPE html>'
    echo '<html><head><meta charset="utf-8">'
    if [ $# -eq 0 ]; then
      echo "<meta name=\"ac-discovery\" content=\"$name $base/{name}-{version}-{os}-{arch}.{ext}\">"
      echo "<meta name=\"ac-discovery-pubkeys\" content=\"$name $base/pubkeys.gpg\">"
    else
      printf '%s\n' "$@"
    fi
    echo '</head><body>ferry test discovery</body></html>'
  } >"$d/www/$path/ac-discovery.html"
  echo "$d/www/$path/ac-discovery.html"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  env) shift; cmd_env "$@" ;;
  discovery) shift; cmd_discovery "$@" ;;
  *) usage ;;
esac
