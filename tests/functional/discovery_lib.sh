# shellcheck shell=bash disable=SC2034  # variables for the sourcing test
# Shared set-up of the appc discovery tests (fetch_discovery.sh, fetch_discovery_bad.sh),
# sourced first (after setting NGINX_EXTRA_CONF, nginx configuration for the server block, if
# any): the test re-runs in its own network + mount namespaces (services/netns.sh),
# where ferry.test is 127.0.0.1 (svc_hosts) and nginx serves https://ferry.test (port 443, a
# certificate for ferry.test from the test CA) and http://ferry.test (port 80).
#
# It publishes the root discovery page of ferry.test:
#   ac-discovery          ferry.test https://ferry.test/images/{name}-{version}-{os}-{arch}.{ext}
#   ac-discovery-pubkeys  ferry.test https://ferry.test/keys/alice.pub.asc
# makes two gpg keys, alice (ALICE_PUB, ALICE_FPR; published under /keys/) and bob (BOB_PUB),
# exports SSL_CERT_FILE (the test CA) for ferry, and defines:
#   F ARGS...                      ferry --dir $D ARGS...
#   publish NAME VERSION [mkaci.py ARGS...]   an ACI at the root template's URL, signed by
#                                  alice (SIGNER=bob for bob, SIGNER= for none); prints its path
#   aci_url NAME VERSION           its https URL
#   nginx_requests                 the number of requests nginx has logged
#   one_line_error                 fails unless $T/err ends with the one "ferry: " error line
. "$(dirname "$0")/services/netns.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services/lib.sh"
svc_require
case $(uname -m) in
  x86_64) ARCH=amd64 ;;
  aarch64) ARCH=aarch64 ;;
  *) skip "no appc arch name for $(uname -m) in this test" ;;
esac
DOMAIN=ferry.test
svc_hosts "$DOMAIN"
mkdir -p "$T/nginx/conf.d"
echo "${NGINX_EXTRA_CONF:-}" >"$T/nginx/conf.d/test.conf"
CA_SERVER_NAMES=$DOMAIN NGINX_HTTPS_PORT=443 NGINX_HTTP_PORT=80 svc_nginx "$T/nginx"
export SSL_CERT_FILE=$CA_DIR/ca.crt
GPG_ALGO=ed25519 svc_gpg alice "$T/gpg"
ALICE_PUB=$GPG_PUBKEY ALICE_FPR=$GPG_FPR
GPG_ALGO=ed25519 svc_gpg bob "$T/gpg"
BOB_PUB=$GPG_PUBKEY BOB_FPR=$GPG_FPR
mkdir -p "$NGINX_WWW/keys"
cp "$ALICE_PUB" "$NGINX_WWW/keys/alice.pub.asc"
"$SERVICES/nginx.sh" discovery "$NGINX_DIR" "" \
  "<meta name=\"ac-discovery\" content=\"$DOMAIN https://$DOMAIN/images/{name}-{version}-{os}-{arch}.{ext}\">" \
  "<meta name=\"ac-discovery-pubkeys\" content=\"$DOMAIN https://$DOMAIN/keys/alice.pub.asc\">" >/dev/null
D=$T/data
mkdir -p "$D"
F() { "$FERRY" --dir "$D" "$@"; }
SIGNER=${SIGNER-alice}

aci_url() { echo "https://$DOMAIN/images/$1-$2-linux-$ARCH.aci"; }

publish() { # NAME VERSION [mkaci.py ARGS...]
  local name=$1 version=$2 f
  shift 2
  f="$NGINX_WWW/images/$name-$version-linux-$ARCH.aci"
  mkdir -p "$(dirname "$f")"
  python3 "$TOOLS/mkaci.py" "$f" "$name" --label "version=$version" --label os=linux \
    --label "arch=$ARCH" "$@"
  rm -f "$f.asc"
  if [ -n "$SIGNER" ]; then "$SERVICES/gpg.sh" sign "$GPG_HOME" "$f" "$SIGNER" >/dev/null; fi
  echo "$f"
}

nginx_requests() { wc -l <"$NGINX_DIR/requests.log"; }

one_line_error() { # the error is one line, the last (progress lines may come before it)
  [ "$(grep -c '^ferry: ' "$T/err")" -eq 1 ] && tail -1 "$T/err" | grep -q '^ferry: ' ||
    { cat "$T/err" >&2; fail "the error is not one line"; }
}
