#!/usr/bin/env bash
# What a stage1 cannot do is refused from its descriptor's features (stage1/ABI.md §4) by stage0,
# before a pod exists: one line naming the flag or field and the stage1 (and the descriptor's
# reason), exit 254, for run and prepare alike, with no pod, no pod directory and no change to
# the store. On every flavor built beside ferry, for what its descriptor refuses, and on a copy
# of the ns stage1 whose descriptor says it applies no sysctl and no memory limit (stage0 names no
# flavor: the data decides). One pod-less ferry call per case.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
pods_test_setup
S1=$(dirname "$NS")

F fetch "$BB" >/dev/null
# A pod manifest of two apps (the check once the images are read): prepared on ns, then removed.
expect_status 0 F prepare --stage1-name=ns "$BB" --name one --exec /bin/true --- "$BB" --name two --exec /bin/true
u=$(cat "$T/out")
cp "$D/pods/prepared/$u/pod" "$T/two-apps.json"
F rm "$u" >/dev/null

state() {
  find "$D/pods" -mindepth 1 | sort
  F image list -q
  find "$D/cas/trees" -mindepth 1 -maxdepth 1 | sort
  F list --no-legend --full
}
state >"$T/before"
# refused STAGE1-ARG PATTERN ARGS…: run and prepare refuse in one line matching PATTERN, and
# leave nothing.
refused() {
  local s1=$1 pattern=$2 cmd
  shift 2
  for cmd in run prepare; do
    expect_status 254 F "$cmd" "$s1" "$@"
    one_line "$cmd $s1 $*"
    grep -qE -- "$pattern" "$T/err" || fail "$cmd $s1 $*: the refusal does not say /$pattern/: $(cat "$T/err")"
    state >"$T/after"
    diff "$T/before" "$T/after" >&2 || fail "$cmd $s1 $*: a pod or an image was left"
  done
}
flavors=0

if [ -f "$S1/fly/stage1.json" ]; then
  fly=--stage1-name=fly
  refused $fly 'stage1 "fly" does not offer --net=none \(it offers --net=host\): a pod of fly is in the host.s network' \
    --net=none "$BB" --exec /bin/true
  refused $fly 'stage1 "fly" runs at most 1 app in a pod \(this one has 2\)' \
    --net=host "$BB" --name one --exec /bin/true --- "$BB" --name two --exec /bin/true
  refused $fly 'stage1 "fly" runs at most 1 app in a pod \(this one has 2\)' --net=host --pod-manifest="$T/two-apps.json"
  refused $fly 'stage1 "fly" does not offer sysctls: app "main" sets sysctl kernel.shmmax: a pod of fly shares the host.s IPC' \
    --net=host "$BB" --name main --sysctl kernel.shmmax=1073741824 --exec /bin/true
  refused $fly 'stage1 "fly" does not offer --hostname: a pod of fly shares the host.s UTS' \
    --net=host --hostname=elsewhere "$BB" --exec /bin/true
  refused $fly 'stage1 "fly" does not offer --private-users' --net=host --private-users "$BB" --exec /bin/true
  ok "fly: --net=none, two apps (flags and pod manifest), a sysctl, --hostname, --private-users refused; nothing left"
  flavors=$((flavors + 1))
fi
if [ -f "$S1/nspawn/stage1.json" ]; then
  nspawn=--stage1-name=nspawn
  refused $nspawn 'stage1 "nspawn" does not offer --private-users' --private-users "$BB" --exec /bin/true
  ok "nspawn: --private-users refused; nothing left"
  flavors=$((flavors + 1))
fi
if [ -f "$S1/kvm/stage1.json" ]; then
  kvm=--stage1-name=kvm
  refused $kvm 'stage1 "kvm" does not offer --net=host' --net=host "$BB" --exec /bin/true
  refused $kvm 'stage1 "kvm" does not offer --ipc=parent \(it offers --ipc=private\): a pod of kvm is a VM, with a kernel of its own' \
    --ipc=parent "$BB" --exec /bin/true
  ok "kvm: --net=host and --ipc=parent (with its reason) refused; nothing left"
  flavors=$((flavors + 1))
fi

# A stage1 stage0 has never heard of: the ns stage1's files under a descriptor that applies no
# sysctl and only device rules as limits.
LIM=$T/stage1-limited
cp -a "$NS" "$LIM"
jq '.name = "limited" | .features.sysctl = false | .features.resources = ["devices"] |
  .features.reasons = {"sysctl": "said by the descriptor"}' "$NS/stage1.json" >"$LIM/stage1.json"
refused --stage1-path="$LIM" 'stage1 "limited" does not offer sysctls: app "main" sets sysctl net.core.somaxconn: said by the descriptor' \
  "$BB" --name main --sysctl net.core.somaxconn=5 --exec /bin/true
refused --stage1-path="$LIM" 'stage1 "limited" does not apply an app.s memory limit: app "main" sets linux.resources.memory' \
  "$BB" --name main --memory=64M --exec /bin/true
# What it does offer still runs.
expect_status 0 F run --stage1-path="$LIM" "$BB" --exec /bin/sh -- -c 'echo ran'
grep -qx ran "$T/out" || fail "the limited stage1's plain pod: $(cat "$T/out" "$T/err")"
ok "a made-up stage1's descriptor: a sysctl and a memory limit refused; a plain pod runs"
echo "# $checks checks ($flavors shipped flavors besides ns)"
