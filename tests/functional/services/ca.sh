#!/usr/bin/env bash
# ca.sh DIR — a throwaway test CA and a server certificate for localhost / 127.0.0.1 / ::1.
# Writes into DIR (made if missing):
#   ca.key ca.crt          the CA (ECDSA P-256, or RSA 2048 with CA_KEYTYPE=rsa; 30 days)
#   server.key server.crt  server cert signed by the CA, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#                          and every name in CA_SERVER_NAMES (space-separated, e.g. the test
#                          domains of a test in its own network namespace), extendedKeyUsage
#                          serverAuth (Go 1.19 needs the SAN; no CN fallback)
#   server-chain.crt       server.crt followed by ca.crt
# Idempotent: if the files exist, server.crt verifies against ca.crt and holds every name of
# CA_SERVER_NAMES, nothing is rewritten.
# Safe to run concurrently on the same DIR (flock). Prints DIR/ca.crt.
set -euo pipefail
dir=${1:?usage: ca.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
exec 8>"$dir/.ca.lock"
flock 8
extra_sans=""
has_names() {
  local n sans
  sans=$(openssl x509 -in "$dir/server.crt" -noout -ext subjectAltName 2>/dev/null) || return 1
  for n in ${CA_SERVER_NAMES:-}; do
    grep -qE "DNS:$n(,|\$)" <<<"$sans" || return 1
  done
}
for n in ${CA_SERVER_NAMES:-}; do extra_sans+=",DNS:$n"; done
if [ -s "$dir/ca.crt" ] && [ -s "$dir/server.crt" ] && [ -s "$dir/server.key" ] &&
  [ -s "$dir/server-chain.crt" ] &&
  openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null 2>&1 && has_names; then
  echo "$dir/ca.crt"
  exit 0
fi
case ${CA_KEYTYPE:-ec} in
  ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
  rsa) newkey=(-newkey rsa:2048) ;;
  *) echo "ca.sh: CA_KEYTYPE must be ec or rsa" >&2; exit 2 ;;
esac
tmp=$(mktemp -d "$dir/.tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 "${newkey[@]}" -nodes -days 30 -sha256 \
  -keyout "$tmp/ca.key" -out "$tmp/ca.crt" -subj "/O=ferry tests/CN=ferry test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req "${newkey[@]}" -nodes -sha256 -keyout "$tmp/server.key" -out "$tmp/server.csr" \
  -subj "/O=ferry tests/CN=localhost" 2>/dev/null
cat >"$tmp/ext.cnf" <<X
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1$extra_sans
X
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days 30 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/server.crt" 2>/dev/null
cat "$tmp/server.crt" "$tmp/ca.crt" >"$tmp/server-chain.crt"
chmod 0644 "$tmp"/*.crt
chmod 0600 "$tmp"/*.key
for f in ca.key ca.crt server.key server.crt server-chain.crt; do mv -f "$tmp/$f" "$dir/$f"; done
echo "$dir/ca.crt"
