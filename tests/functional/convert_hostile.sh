#!/usr/bin/env bash
# The hostile archive corpus (tests/tools/hostile_corpus.cpp) through `ferry image convert`:
# every archive that tries to escape, lie about sizes, repeat or hide entries, or write through
# its own symlinks is refused with one line naming the archive and the entry, exit 254, and no
# output left behind. Archives that are odd but harmless to convert (device nodes and fifos are
# carried, not created; non-UTF-8 names are bytes on Linux) convert.
source "$(dirname "$0")/lib.sh"
: "${HOSTILE_CORPUS_TOOL:?}"
mkdir -p "$T/corpus" "$T/outputs"
"$HOSTILE_CORPUS_TOOL" "$T/corpus" >/dev/null

harmless=" chardev.aci blockdev.aci fifo.aci non_utf8_name.aci bomb.aci.gz nul_name.aci "
for f in "$T"/corpus/*; do
  name=$(basename "$f")
  dest="$T/outputs/$name"
  if [[ "$harmless" == *" $name "* ]]; then
    expect_status 0 "$FERRY" image convert "$f" "oci:$dest:x"
    ok "$name converts (harmless when converting)"
    continue
  fi
  expect_status 254 "$FERRY" image convert "$f" "oci:$dest:x"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$name: error is not one line: $(cat "$T/err")"
  grep -qF "$name" "$T/err" || fail "$name: error does not name the archive: $(cat "$T/err")"
  [ ! -e "$dest" ] || fail "$name: a failed convert left $dest behind"
  ok "$name refused: $(cut -c1-150 "$T/err")"
done
[ -z "$(ls -A "$T/outputs" | grep -v -e chardev -e blockdev -e fifo -e non_utf8 -e bomb -e nul_name)" ] ||
  fail "unexpected output: $(ls "$T/outputs")"
[ ! -e /tmp/ferry-hostile-absolute ] || fail "an absolute path escaped"
echo "$checks passed, 0 failed"
