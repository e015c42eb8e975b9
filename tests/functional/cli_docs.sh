#!/usr/bin/env bash
# The generated completion scripts and man pages (`ferry completion bash|zsh`, `ferry man-pages`:
# one source, the flags each command declares), and `cmake --install` (bin/ferry,
# libexec/ferry/stage1/ns, completion, man) with a pod run from the installed tree.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
BUILD=$(cd "$(dirname "$FERRY")/.." && pwd)

# --- bash: every flag `ferry CMD --help` lists is completed for CMD.
"$FERRY" completion bash >"$T/ferry.bash" || fail "completion bash"
comp() { # WORDS... (the last one is being completed)
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ferry; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$T/ferry.bash" ferry "$@"
}
has() { # WORD WORDS... : completing WORDS offers WORD
  local want=$1 got
  shift
  got=$(comp "$@")
  grep -qxF -- "$want" <<<"$got" || fail "completing ferry $*: no $want in: $got"
}
has run ru
has run-prepared ru
has list image l
has --volume= run --vol
has --format= --dir "$T" image list --for
mkdir -p "$T/cfgdir"
has "$T/cfgdir" --local-config "$T/cfg"
has "$T/cfgdir" --local-config="$T/cfg"
# Image arguments: the IDs and names of the store ferry's global flags (--dir) name (the
# script asks the ferry being completed: here the one on PATH).
mkdir -p "$D" "$T/pbin"
ln -s "$FERRY" "$T/pbin/ferry"
export PATH=$T/pbin:$PATH
"$FERRY" --dir "$D" --insecure-options=image fetch "$BB" >/dev/null
short=$("$FERRY" --dir "$D" image list --no-legend --fields=id | awk '{print $1}')
has "$short" --dir "$D" image rm "${short:0:11}"
has example.com/busybox:1.36 --dir="$D" run exa
has example.com/busybox:1.36 --dir "$D" image inspect example.com/b
# --format=json and --debug change what the listing prints: never passed to it.
has "$short" --format=json --dir "$D" --debug image rm "${short:0:11}"
has example.com/busybox:1.36 --format json --dir "$D" run exa
n=0
"$FERRY" help | sed -n '/^Commands:/,/^$/p' | sed '1d;/^$/d' | awk '{print $1 ($2 ~ /^[a-z-]+$/ && $1 == "image" ? " " $2 : "")}' |
  while read -r -a cmd; do
    [ "${cmd[0]}" = help ] && continue
    [ "${cmd[0]}" = image ] && [ ${#cmd[@]} = 1 ] && continue
    "$FERRY" "${cmd[@]}" --help >"$T/helptext"
    { grep -oE '^  --[a-z0-9-]+' "$T/helptext" || true; } | sed 's/^  //' | sort -u >"$T/help"
    comp "${cmd[@]}" -- | sed 's/=$//' | sort -u >"$T/comp"
    if [ "${cmd[0]}" = bench ]; then continue; fi  # bench parses its own flags (no OptionParser)
    missing=$(comm -23 "$T/help" "$T/comp")
    [ -z "$missing" ] || fail "ferry ${cmd[*]}: flags in --help but not completed: $missing"
    n=$((n + 1))
    echo "$n" >"$T/n"
  done
[ "$(cat "$T/n")" -ge 25 ] || fail "checked only $(cat "$T/n") commands"
ok "bash completion: commands, subcommands, paths for DIR values, every --help flag of $(cat "$T/n") commands"

# --- zsh: parses, and has each command's function.
"$FERRY" completion zsh >"$T/_ferry" || fail "completion zsh"
if command -v zsh >/dev/null; then
  zsh -n "$T/_ferry" || fail "_ferry does not parse"
  zsh -fc "fpath=($T \$fpath); autoload -U compinit; compinit -u -d $T/zcd; (( \$+_comps[ferry] ))" ||
    fail "compinit does not register _ferry for ferry"
else
  fail "zsh is not installed (dist/setup)"
fi
grep -q "^_ferry_image_list() {" "$T/_ferry" && grep -q "'\*--volume=\[" "$T/_ferry" || fail "_ferry lacks commands or flags"
sed -n '/^_ferry_image_rm() {/,/^}/p' "$T/_ferry" | grep -q "'\*:argument:_ferry_images'" &&
  sed -n '/^_ferry_status() {/,/^}/p' "$T/_ferry" | grep -q "'\*:argument:_ferry_pods'" ||
  fail "_ferry completes no image for image rm or no pod for status"
ok "zsh completion: parses, registered by compinit"

# --- man pages: one per command plus ferry(1), clean for groff.
"$FERRY" man-pages "$T/man" || fail "man-pages"
pages=$(ls "$T/man" | wc -l)
cmds=$("$FERRY" help | sed -n '/^Commands:/,/^$/p' | grep -c '^  [a-z]' || true)
[ "$pages" -eq "$cmds" ] || fail "$pages man pages for $cmds commands (help counts itself, ferry.1 is the overview)"
for f in "$T"/man/*.1; do
  w=$(groff -man -ww -z "$f" 2>&1) && [ -z "$w" ] || fail "groff on $(basename "$f"): $w"
done
grep -q '^\\fB\\-\\-volume\\fR=' "$T/man/ferry-run.1" || fail "ferry-run.1 lacks --volume"
MANPAGER=cat man -l "$T/man/ferry-config.1" 2>/dev/null | grep -q 'show-secrets' || fail "man -l ferry-config.1"
ok "$pages man pages, groff-clean"

# --- cmake --install into a prefix, then a pod from there.
P=$T/prefix
for c in ferry stage1-ns; do
  cmake --install "$BUILD" --prefix "$P" --component "$c" >/dev/null || fail "cmake --install --component $c"
done
for f in bin/ferry libexec/ferry/stage1/ns/stage1.json libexec/ferry/stage1/ns/bin/run \
  libexec/ferry/stage1-images/stage1-ns.aci libexec/ferry/ferry-bench-probe \
  share/bash-completion/completions/ferry share/zsh/vendor-completions/_ferry share/man/man1/ferry-run.1; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
"$P/bin/ferry" version >"$T/out" || fail "installed ferry version"
grep -q "$P/libexec/ferry/stage1/ns" "$T/out" || fail "installed ferry does not see its stage1: $(cat "$T/out")"
expect_status 0 "$P/bin/ferry" --dir "$T/pdata" --insecure-options=image run "$BB" --exec /bin/busybox -- echo installed
grep -qx installed "$T/out" || fail "a pod from the installed tree: $(cat "$T/out" "$T/err")"
"$P/bin/ferry" --dir "$T/pdata" gc --grace-period=0s >/dev/null 2>&1 || true
ok "cmake --install: bin/ferry, libexec/ferry/stage1/ns, completion, man; a pod ran from $P"
echo "$checks passed, 0 failed"
