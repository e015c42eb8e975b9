# A real systemd for the systemd_*.sh tests: a throwaway `systemd-nspawn --boot` of the host's own
# /usr (a volatile root: nothing is written to the host), reached over its system bus socket.
# Sourced after lib.sh and pods_lib.sh.
#
#   sd_test_setup    the start of such a test: pods_test_setup, BUILD (the build tree), and at
#                    exit the test systemd shut down (sd_shutdown; SD_AT_EXIT, a command, first),
#                    then the pods' cleanup (pods_cleanup)
#   sd_boot [DIR...] boots it with each DIR bind-mounted at the same path (by default the build
#                    tree, $T and the fixtures), exports DBUS_SYSTEM_BUS_ADDRESS and SD_LEADER (its
#                    PID 1 on the host)
#   in_sd CMD...     runs CMD inside it (all its namespaces): systemctl, journalctl, machinectl,
#                    systemd-run, and ferry itself as a process of that system
#   in_sd_timeout SECS CMD...   the same, killed after SECS (a command run in the background)
#   sd_probe_image ACI [JQ-FILTER [JQ-ARG...]]   an image with sd-probe (below)
#   sd_readline PATH / in_sd_readline PATH       a client of the stream socket PATH: the first
#                    line the server says (60 s at most), from the host or inside the test systemd
#
# The container never runs in this machine's own cgroups: sd_boot makes a fresh cgroup under the
# caller's own in every hierarchy, starts nspawn from there (its container, each unit and each pod
# of it live below), and sd_shutdown stops the container with SIGTERM (never SIGKILL: its
# container would survive as an orphan), waits, and removes that subtree, failing the test if a
# process is left in it. Inside, the v1 controllers nspawn mounts read-only are remounted
# read-write: they are the container's own subtree (its cgroup namespace), where the ns stage1
# makes each pod's cgroups as it would on the host.

SD_CGROUPS=()
SD_NSPAWN=
SD_LEADER=
SD_UNIT=basic.target  # what it boots into
SD_NSPAWN_ARGS=()     # more systemd-nspawn options (sd_minimal)
SD_BOOT_TIMEOUT=60    # sd_minimal: seconds for the bus to appear, then for the boot to finish
SD_MINIMAL=
SD_ROOT=()            # (-r) where nspawn ran chrooted (run-in-vm): its root is not its mntns's

sd_cgroup_dirs() { # NAME: the directory NAME would have in each hierarchy, below our own cgroup
  local _id ctrl path dir
  while IFS=: read -r _id ctrl path; do
    case $ctrl in
      "") if [ -e /sys/fs/cgroup/cgroup.controllers ]; then # pure cgroup v2
        dir=/sys/fs/cgroup$path
      else
        dir=/sys/fs/cgroup/unified$path
      fi ;;
      name=*) dir=/sys/fs/cgroup/${ctrl#name=}$path ;;
      *) dir=/sys/fs/cgroup/${ctrl%%,*}$path ;;
    esac
    [ -d "$dir" ] || [ -d "${dir%/*}" ] || continue
    echo "${dir%/}/$1"
  done </proc/self/cgroup
}

SD_AT_EXIT=
sd_test_setup() {
  pods_test_setup
  BUILD=$(cd "$(dirname "$FERRY")/.." && pwd)
  trap sd_cleanup EXIT
}
sd_cleanup() {
  [ -z "$SD_AT_EXIT" ] || eval "$SD_AT_EXIT" || true
  sd_shutdown
  pods_cleanup
}

sd_boot() {
  [ $# -gt 0 ] || set -- "$BUILD" "$T" "$FIXTURES"
  command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (dist/setup)"
  [ -x /lib/systemd/systemd ] || skip "no systemd in /lib/systemd to boot"
  [ -x /usr/bin/dbus-daemon ] || skip "no dbus-daemon for the test systemd's bus"
  local name=ferry-sdtest-$$-$RANDOM d binds=() b
  while read -r d; do
    mkdir "$d"
    SD_CGROUPS+=("$d")
    # v1 cpuset: a new cgroup has no cpus until given its parent's
    if [ -f "$d/cpuset.cpus" ]; then
      cat "${d%/*}/cpuset.cpus" >"$d/cpuset.cpus"
      cat "${d%/*}/cpuset.mems" >"$d/cpuset.mems"
    fi
  done < <(sd_cgroup_dirs "$name")
  for b in "$@"; do
    b=$(realpath "$b")
    case " ${binds[*]} " in *" --bind=$b "*) continue ;; esac
    binds+=("--bind=$b")
  done
  (
    for d in "${SD_CGROUPS[@]}"; do echo "$BASHPID" >"$d/cgroup.procs"; done
    exec systemd-nspawn -q --register=no --keep-unit --volatile=yes -D / "${binds[@]}" \
      --capability=all --system-call-filter=bpf "${SD_NSPAWN_ARGS[@]}" \
      --boot --console=passive systemd.firstboot=off "systemd.unit=$SD_UNIT"
  ) >"$T/nspawn.log" 2>&1 &
  SD_NSPAWN=$!
  if [ -z "$SD_MINIMAL" ]; then
    local i
    for i in $(seq 1 200); do
      SD_LEADER=$(cat /proc/"$SD_NSPAWN"/task/*/children 2>/dev/null | awk '{print $1; exit}')
      [ -n "$SD_LEADER" ] && [ -S "/proc/$SD_LEADER/root/run/dbus/system_bus_socket" ] && break
      kill -0 "$SD_NSPAWN" 2>/dev/null || { cat "$T/nspawn.log" >&2; fail "the test systemd did not boot"; }
      sleep 0.05
    done
    [ -S "/proc/$SD_LEADER/root/run/dbus/system_bus_socket" ] || fail "the test systemd has no bus"
    for i in $(seq 1 200); do
      state=$(in_sd systemctl is-system-running 2>/dev/null || true)
      case $state in running | degraded) break ;; esac
      sleep 0.05
    done
  else
    # (builtins only while waiting: under TCG every process costs)
    local deadline=$((SECONDS + SD_BOOT_TIMEOUT)) f
    while [ "$SECONDS" -lt "$deadline" ]; do
      SD_LEADER=
      for f in /proc/"$SD_NSPAWN"/task/*/children; do
        [ -n "$SD_LEADER" ] || read -r SD_LEADER _ <"$f" 2>/dev/null || true
      done
      [ -n "$SD_LEADER" ] && [ -S "/proc/$SD_LEADER/root/run/dbus/system_bus_socket" ] && break
      kill -0 "$SD_NSPAWN" 2>/dev/null || { cat "$T/nspawn.log" >&2; fail "the test systemd did not boot"; }
      sleep 0.05
    done
    [ -S "/proc/$SD_LEADER/root/run/dbus/system_bus_socket" ] ||
      { cat "$T/nspawn.log" >&2; fail "the test systemd has no bus after ${SD_BOOT_TIMEOUT}s"; }
    in_sd_timeout "$SD_BOOT_TIMEOUT" systemctl is-system-running --wait >/dev/null 2>&1 || true
  fi
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/proc/$SD_LEADER/root/run/dbus/system_bus_socket
  local m
  for m in $(in_sd findmnt -rn -t cgroup -o TARGET); do
    in_sd mount -o remount,bind,rw "$m"
  done
}

# sd_minimal: the next sd_boot boots a system of the few units ferry needs (the system bus,
# machined, the slices; SYSTEMD_UNIT_PATH holds only them) and runs no generator, with the
# host's /etc (read-only: dbus's user, no first boot). Under TCG (systemd_v2_vm.sh) a whole
# basic.target takes minutes; this, seconds.
sd_minimal() {
  local dir=$T/sd-units u lib=/usr/lib/systemd/system
  [ -e "$lib/sysinit.target" ] || lib=/lib/systemd/system
  mkdir -p "$dir/units" "$dir/none"
  for u in sysinit.target sockets.target basic.target slices.target machine.slice dbus.socket \
    dbus.service systemd-machined.service dbus-org.freedesktop.machine1.service shutdown.target \
    halt.target systemd-halt.service poweroff.target systemd-poweroff.service final.target \
    umount.target; do
    [ -e "$lib/$u" ] || skip "no $u in $lib"
    ln -s "$lib/$u" "$dir/units/$u"
  done
  cat >"$dir/units/sdtest-minimal.target" <<'UNIT'
[Unit]
Description=ferry's test system: the bus and machined
Requires=basic.target dbus.socket
After=basic.target
AllowIsolate=yes
UNIT
  SD_UNIT=sdtest-minimal.target
  SD_MINIMAL=1
  SD_NSPAWN_ARGS=(--bind-ro=/etc --bind-ro="$dir/units:/run/ferry-sd-units"
    --bind-ro="$dir/none:/run/ferry-sd-none" --setenv=SYSTEMD_UNIT_PATH=/run/ferry-sd-units
    --setenv=SYSTEMD_GENERATOR_PATH=/run/ferry-sd-none
    --setenv=SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/ferry-sd-none)
}

in_sd() { env -u DBUS_SYSTEM_BUS_ADDRESS nsenter -t "$SD_LEADER" -a "${SD_ROOT[@]}" "$@"; }
in_sd_timeout() { timeout "$1" env -u DBUS_SYSTEM_BUS_ADDRESS nsenter -t "$SD_LEADER" -a "${SD_ROOT[@]}" "${@:2}"; }

# busybox with sd-probe (tests/functional/probes/sd_probe.c) at /bin/sd-probe, the annotation
# appc.io/executor/supports-systemd-notify=true, named example.com/sd-probe, its port "http"
# socketActivated; JQ-FILTER (with jq's JQ-ARGs) then changes the manifest as a test needs.
sd_probe_image() { # ACI [JQ-FILTER [JQ-ARG...]]
  : "${SD_PROBE:?SD_PROBE must point to the sd-probe binary}"
  local aci=$1 filter=${2:-.}
  shift $(($# < 2 ? $# : 2))
  rm -rf "$T/img" && mkdir -p "$T/img"
  tar -C "$T/img" -xf "$BB"
  cp "$SD_PROBE" "$T/img/rootfs/bin/sd-probe"
  jq "$@" '.name = "example.com/sd-probe" | .annotations = ((.annotations // []) + [{"name": "appc.io/executor/supports-systemd-notify", "value": "true"}])
    | .app.ports = [{"name": "http", "protocol": "tcp", "port": 8080, "socketActivated": true}]
    | '"$filter" "$T/img/manifest" >"$T/img/manifest.new"
  mv "$T/img/manifest.new" "$T/img/manifest"
  tar -C "$T/img" -cf "$aci" manifest rootfs
}

SD_READLINE='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print(s.makefile().readline().strip())'
sd_readline() { timeout 60 python3 -c "$SD_READLINE" "$1"; }
in_sd_readline() { in_sd timeout 60 python3 -c "$SD_READLINE" "$1"; }

# Every unit ferry made, and the cgroups they had, gone (the pods' own included).
sd_no_ferry_units() { # WHAT
  in_sd systemctl list-units --all --no-legend --plain 'ferry-*' 'machine-ferry*' >"$T/units.left" || true
  if [ -s "$T/units.left" ]; then
    cat "$T/units.left" >&2
    fail "$1: units left"
  fi
  local d
  for d in "${SD_CGROUPS[@]}"; do
    if find "$d" -mindepth 1 -type d -name 'ferry-*' | grep -q .; then
      find "$d" -mindepth 1 -type d -name 'ferry-*' >&2
      fail "$1: cgroups left"
    fi
  done
}

sd_shutdown() {
  [ -n "$SD_NSPAWN" ] || return 0
  kill -TERM "$SD_NSPAWN" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do
    kill -0 "$SD_NSPAWN" 2>/dev/null || break
    sleep 0.1
  done
  wait "$SD_NSPAWN" 2>/dev/null || true
  SD_NSPAWN=
  local d x left=
  for d in "${SD_CGROUPS[@]}"; do
    [ -d "$d" ] || continue
    while read -r x; do
      if [ -s "$x/cgroup.procs" ]; then
        left="$left $x"
        while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$x/cgroup.procs"
      fi
    done < <(find "$d" -depth -type d)
    for i in $(seq 1 50); do
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [ -d "$d" ] || break
      sleep 0.1
    done
  done
  [ -z "$left" ] || echo "FAIL: processes were left in$left" >&2
}
