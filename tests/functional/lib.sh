# Shared helpers for ferry's functional tests (sourced by each test script).
# The test gets FERRY (the binary), FIXTURES (made by make-fixtures.sh) and TOOLS from ctest.
set -euo pipefail
: "${FERRY:?FERRY must point to the ferry binary}"
: "${FIXTURES:?FIXTURES must point to the fixture directory}"
TOOLS=${TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-test-XXXXXX")
trap 'rm -rf "$T"' EXIT
checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}
skip() {
  echo "SKIP: $*"
  exit 77
}

# expect_status CODE CMD... : runs CMD, captures stdout/stderr in $T/out and $T/err.
expect_status() {
  local want=$1
  shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  set -e
  if [ "$got" -ne "$want" ]; then
    echo "--- stdout" >&2; cat "$T/out" >&2
    echo "--- stderr" >&2; cat "$T/err" >&2
    fail "'$*' exited $got, want $want"
  fi
}

# An ACI's rootfs, extracted by GNU tar (a peer) with all metadata.
extract_aci_rootfs() { # ACI DIR
  mkdir -p "$2"
  tar -C "$2" --xattrs --xattrs-include='*' --numeric-owner -xpf "$1" rootfs
}

# treesum of a tree, for comparisons.
treesum() { python3 "$TOOLS/treesum.py" "$@"; }

same_tree() { # A B WHAT
  treesum "$1" >"$T/a.sum"
  treesum "$2" >"$T/b.sum"
  if ! diff -u "$T/a.sum" "$T/b.sum" >"$T/tree.diff"; then
    head -40 "$T/tree.diff" >&2
    fail "$3: trees differ"
  fi
  ok "$3: trees identical ($(wc -l <"$T/a.sum") paths)"
}

# sha512 of an ACI's uncompressed tar, by the system tools.
aci_id() {
  local f=$1 cat=cat
  case "$(file -b --mime-type "$f" 2>/dev/null || true)" in
    application/gzip) cat="gzip -dc" ;;
    application/x-xz) cat="xz -dc" ;;
    application/x-bzip2) cat="bzip2 -dc" ;;
    application/zstd) cat="zstd -dc" ;;
  esac
  echo "sha512-$($cat "$f" | sha512sum | cut -d' ' -f1)"
}

# Peers judge an OCI layout we wrote.
check_oci_layout() { # DIR REF
  oci-image-tool validate --type image --ref "name=$2" "$1" >"$T/oit.log" 2>&1 ||
    { cat "$T/oit.log" >&2; fail "oci-image-tool rejects $1:$2"; }
  ok "oci-image-tool validate $2"
  skopeo inspect "oci:$1:$2" >"$T/skopeo.json" 2>"$T/skopeo.err" ||
    { cat "$T/skopeo.err" >&2; fail "skopeo cannot inspect oci:$1:$2"; }
  ok "skopeo inspect $2"
}

# store_snapshot DIR: the store's index rows and blob/tree lists, to compare before and after a
# failed operation ("the store exactly as before").
store_snapshot() {
  local cas=$1/cas
  [ -d "$cas" ] || { echo "(no store)"; return 0; }
  sqlite3 "$cas/index.db" .dump | grep '^INSERT' | sort
  (cd "$cas" && find blobs trees -mindepth 2 -maxdepth 2 2>/dev/null | sort)
}

# table_aligned FILE MINCOLS: ferry's text table in FILE (legend first) has no tab, at least
# MINCOLS columns (a column starts after two spaces: a legend may hold one, "IMAGE NAME"), and
# every row has a cell starting exactly where each column of the legend starts.
table_aligned() {
  ! grep -q $'\t' "$1" || fail "a table with tabs: $(cat -A "$1" | head -3)"
  awk -v min="$2" '
    NR == 1 {
      for (i = 1; i <= length($0); i++)
        if (substr($0, i, 1) != " " && (i == 1 || substr($0, i - 2, 2) == "  ")) starts[++n] = i
      if (n < min) { print "the legend has " n " columns: " $0; exit 1 }
      next
    }
    { for (k = 1; k <= n; k++) { c = starts[k]
        if (substr($0, c, 1) == " " || (c > 1 && substr($0, c - 1, 1) != " ")) {
          print "row " NR " is not aligned with the legend: " $0; exit 1 } } }' "$1" ||
    fail "an unaligned table: $(cat "$1")"
}
