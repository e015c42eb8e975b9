#!/usr/bin/env bash
# An image cannot loosen the seccomp filter. Its os/linux/seccomp-retain-set would replace
# ferry's default filter (with `@appc.io/all`, by no filter at all): refused before a pod
# exists, naming the operator's flags. Its os/linux/seccomp-remove-set only adds refusals: the
# default filter's stay (keyctl, a user namespace through clone). The control grants the
# retain set with --insecure-options=seccomp: keyctl then works, so the checks above can fail.
source "$(dirname "$0")/escape_lib.sh"
escape_setup

probe='/probe/sys keyctl; /probe/sys clone user; /bin/mkdir /tmp/made && echo made; exit 0'
all=$(hostile_image seccomp-all "{\"exec\":[\"/bin/sh\",\"-c\",\"$probe\"],\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"os/linux/seccomp-retain-set\",\"value\":{\"set\":[\"@appc.io/all\"]}}]}")
pods_before=$(F list --no-legend 2>/dev/null | wc -l)
run_pod "image retain set @appc.io/all" "$all"
[ "$st" -eq 254 ] || { cat "$T/out" "$T/err" >&2; fail "an image's retain set @appc.io/all ran (exit $st)"; }
one_line "image retain set"
grep -q -- '--insecure-options=seccomp' "$T/err" || fail "the refusal names no operator flag: $(cat "$T/err")"
[ "$(F list --no-legend 2>/dev/null | wc -l)" -eq "$pods_before" ] || fail "a refused image left a pod"
ok "an image's seccomp retain set is refused before a pod exists: $(cat "$T/err")"
host_unchanged "image retain set"

remove=$(hostile_image seccomp-remove "{\"exec\":[\"/bin/sh\",\"-c\",\"$probe\"],\"user\":\"0\",\"group\":\"0\",\"isolators\":[{\"name\":\"os/linux/seccomp-remove-set\",\"value\":{\"set\":[\"mkdir\",\"mkdirat\"],\"errno\":\"EACCES\"}}]}")
run_pod "image remove set" "$remove"
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the remove-set pod exited $st"; }
grep -q '^denied keyctl' "$T/out" || { cat "$T/out" >&2; fail "an image's remove set lifted the default filter: keyctl ran"; }
grep -q '^denied clone user' "$T/out" || { cat "$T/out" >&2; fail "an image's remove set lifted the default filter: clone(CLONE_NEWUSER) ran"; }
! grep -qx made "$T/out" || { cat "$T/out" >&2; fail "the image's own refusal (mkdir) was not applied"; }
ok "an image's seccomp remove set adds its refusals (mkdir) and keeps the default ones (keyctl, clone user)"
host_unchanged "image remove set"

run_pod "operator grant" "$all" --insecure-options=image,seccomp
[ "$st" -eq 0 ] || { cat "$T/out" "$T/err" >&2; fail "the granted pod exited $st"; }
grep -q '^ok keyctl' "$T/out" || { cat "$T/out" >&2; fail "control: keyctl refused although the operator allowed the image's filter"; }
ok "control: with --insecure-options=seccomp the image's retain set applies (keyctl works)"
host_unchanged "operator grant"
echo "escape.image_seccomp: $checks checks passed"
