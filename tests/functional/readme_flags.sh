#!/usr/bin/env bash
# The README's "Using ferry" block against the CLI: every `ferry …` command in it names a
# command that exists, and every --flag it shows is one that command (or ferry itself) accepts.
# (The block is a reference with placeholders — IMG, UUID, example.com — so it is checked, not
# run; running it as written is not done yet.)
source "$(dirname "$0")/lib.sh"
README=$(cd "$(dirname "$0")/../.." && pwd)/README.md
python3 - "$README" >"$T/cmds" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = text.split("## Using ferry", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
for line in block.splitlines():
    line = line.split("  #", 1)[0]
    for part in line.split(";"):
        words = part.split()
        if not words or words[0] != "ferry":
            continue
        print(" ".join(words[1:]))
PY
[ -s "$T/cmds" ] || fail "no ferry commands found in the README's Using ferry block"
"$FERRY" help | sed -n '/^Commands:/,/^$/p' | sed '1d;/^$/d' | awk '{print $1 ($1 == "image" ? " " $2 : "")}' >"$T/known"
n=0
while read -r line; do
  read -r -a w <<<"$line"
  flags=() cmd=()
  for x in "${w[@]}"; do
    case $x in
      --) break ;;
      ---) ;;
      --*) f=${x%%=*}; flags+=("${f#[}") ;;
      \[--*) f=${x#[}; f=${f%%]*}; flags+=("${f%%=*}") ;;
      *) [ ${#cmd[@]} -lt 2 ] && cmd+=("$x") ;;
    esac
  done
  c=${cmd[0]:-}
  [ "$c" = image ] && c="image ${cmd[1]}"
  grep -qxF "$c" "$T/known" || fail "README: 'ferry $line': no command '$c'"
  [ "$c" = help ] && { n=$((n + 1)); continue; }
  # shellcheck disable=SC2086
  "$FERRY" $c --help >"$T/help" 2>&1 || fail "ferry $c --help"
  for f in "${flags[@]}"; do
    grep -qE -- "^ +$f([=[ ]|\$)" "$T/help" || fail "README: 'ferry $line': ferry $c has no $f"
  done
  n=$((n + 1))
done <"$T/cmds"
ok "$n ferry commands of the README's Using ferry block: each command exists, each flag is declared"
echo "$checks passed, 0 failed"
