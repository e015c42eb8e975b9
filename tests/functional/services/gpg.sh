#!/usr/bin/env bash
# OpenPGP keys and detached signatures with gnupg, for appc image signatures.
#
#   gpg.sh KEYDIR NAME          (or: gpg.sh gen KEYDIR NAME)
#       makes a key pair without passphrase in the gpg homedir KEYDIR (made 0700 if missing)
#       with user id "NAME <NAME@ferry.test>" and exports the armored public key to
#       KEYDIR/NAME.pub.asc. Prints two lines: the public key path, then the fingerprint
#       (also in KEYDIR/NAME.fpr). GPG_ALGO picks the algorithm (default rsa2048, which every
#       OpenPGP implementation reads; ed25519 is faster to make).
#   gpg.sh sign KEYDIR FILE [NAME]
#       writes FILE.asc, an armored detached signature by NAME (default: the first key).
#       Prints FILE.asc.
#   gpg.sh verify PUBKEY FILE [SIG]
#       verifies SIG (default FILE.asc) with only PUBKEY trusted, in a throwaway homedir.
#   gpg.sh stop KEYDIR
#       kills the gpg-agent that key generation and signing start in KEYDIR.
#       Call it before removing KEYDIR (services/lib.sh's svc_gpg does so at exit).
set -euo pipefail
command -v gpg >/dev/null || { echo "gpg.sh: gpg (gnupg) is not installed" >&2; exit 1; }

g() { # KEYDIR ARGS...
  local h=$1
  shift
  gpg --batch --quiet --no-tty --homedir "$h" --pinentry-mode loopback --passphrase '' "$@"
}

cmd_gen() {
  local h=${1:?KEYDIR} name=${2:?NAME}
  mkdir -p "$h"
  chmod 0700 "$h"
  h=$(cd "$h" && pwd)
  local uid="$name <$name@ferry.test>" algo=${GPG_ALGO:-rsa2048}
  local usage=sign
  g "$h" --quick-gen-key "$uid" "$algo" "$usage" never 2>"$h/$name.gen.log" ||
    { cat "$h/$name.gen.log" >&2; exit 1; }
  local fpr
  fpr=$(g "$h" --with-colons --list-secret-keys "=$uid" | awk -F: '$1 == "fpr" {print $10; exit}')
  [ -n "$fpr" ] || { echo "gpg.sh: no key made for $uid" >&2; exit 1; }
  echo "$fpr" >"$h/$name.fpr"
  g "$h" --armor --export "$fpr" >"$h/$name.pub.asc"
  echo "$h/$name.pub.asc"
  echo "$fpr"
}

cmd_sign() {
  local h=${1:?KEYDIR} f=${2:?FILE} name=${3:-}
  local who=()
  if [ -n "$name" ]; then
    who=(--local-user "$(cat "$h/$name.fpr")")
  fi
  rm -f "$f.asc"
  g "$h" "${who[@]}" --armor --detach-sign --output "$f.asc" "$f"
  echo "$f.asc"
}

cmd_verify() {
  local pub=${1:?PUBKEY} f=${2:?FILE} sig=${3:-$2.asc} t rc=0
  t=$(mktemp -d "${TMPDIR:-/tmp}/ferry-gpgv-XXXXXX")
  gpg --batch --quiet --no-tty --homedir "$t" --dearmor --output "$t/trusted.gpg" "$pub"
  gpgv --homedir "$t" --keyring "$t/trusted.gpg" "$sig" "$f" || rc=$?
  rm -rf "$t"
  return "$rc"
}

cmd_stop() {
  local h=${1:?KEYDIR}
  [ -d "$h" ] || return 0
  gpgconf --homedir "$h" --kill all 2>/dev/null || true
}

case ${1:-} in
  gen) shift; cmd_gen "$@" ;;
  sign) shift; cmd_sign "$@" ;;
  verify) shift; cmd_verify "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  "" | -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  *) cmd_gen "$@" ;;
esac
