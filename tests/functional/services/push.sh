#!/usr/bin/env bash
# push.sh SRC DEST-REPO REGISTRY-DIR [SKOPEO-COPY-ARGS...]
#   Copies SRC (any skopeo transport, e.g. oci:$FIXTURES/oci:v1) to
#   docker://127.0.0.1:PORT/DEST-REPO of the registry started in REGISTRY-DIR by registry.sh,
#   with the flags its mode needs: plain --dest-tls-verify=false; tls --dest-cert-dir;
#   htpasswd/token also --dest-creds USER:PASSWORD (in token mode skopeo does the bearer flow
#   against token_issuer.py itself). Extra args go to `skopeo copy` (e.g. --format v2s2).
#   Prints the pushed reference (127.0.0.1:PORT/DEST-REPO) on stdout; skopeo's output goes to
#   stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${1:?usage: push.sh SRC DEST-REPO REGISTRY-DIR [SKOPEO-ARGS...]}
dest=${2:?usage: push.sh SRC DEST-REPO REGISTRY-DIR}
d=${3:?usage: push.sh SRC DEST-REPO REGISTRY-DIR}
shift 3
[ -s "$d/port" ] || { echo "push.sh: no registry running in $d" >&2; exit 1; }
mapfile -t flags < <("$here/registry.sh" skopeo-flags "$d" dest)
ref="127.0.0.1:$(cat "$d/port")/$dest"
skopeo copy --retry-times 0 "${flags[@]}" "$@" "$src" "docker://$ref" >&2
echo "$ref"
