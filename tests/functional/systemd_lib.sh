# A real systemd for the systemd_*.sh tests: a throwaway `systemd-nspawn --boot` of the host's own
# /usr (a volatile root: nothing is written to the host), reached over its system bus socket.
# Sourced after lib.sh and pods_lib.sh.
#
#   sd_boot DIR...   boots it with each DIR bind-mounted at the same path (the build tree, $T, the
#                    fixtures), exports DBUS_SYSTEM_BUS_ADDRESS and SD_LEADER (its PID 1 on the
#                    host); at exit everything is shut down and removed (sd_shutdown)
#   in_sd CMD...     runs CMD inside it (all its namespaces): systemctl, journalctl, machinectl,
#                    systemd-run, and ferry itself as a process of that system
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

sd_boot() {
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
      --capability=all --system-call-filter=bpf \
      --boot --console=passive systemd.firstboot=off systemd.unit=basic.target
  ) >"$T/nspawn.log" 2>&1 &
  SD_NSPAWN=$!
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
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/proc/$SD_LEADER/root/run/dbus/system_bus_socket
  local m
  for m in $(in_sd findmnt -rn -t cgroup -o TARGET); do
    in_sd mount -o remount,bind,rw "$m"
  done
}

in_sd() { env -u DBUS_SYSTEM_BUS_ADDRESS nsenter -t "$SD_LEADER" -a "$@"; }

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
