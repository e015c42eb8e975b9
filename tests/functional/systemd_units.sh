#!/usr/bin/env bash
# dist/units/ against a real systemd (systemd_lib.sh), each file as shipped but for ferry's path
# (this build's ferry on the test's data directory), the image and the example's listen address:
# - ferry-pod@.service: an instance starts (Type=notify: active once the app said READY=1),
#   records its UUID, stops on systemctl stop (the app's SIGTERM, success) and ExecStopPost
#   marks the pod for gc;
# - ferry-gc.timer starts ferry-gc.service, which runs ferry gc successfully;
# - ferry-example-http.socket + .service: a client connecting before any pod exists gets the app's
#   answer on the socket systemd made.
# Before: dist/units/ did not exist.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pods_lib.sh"
source "$(dirname "$0")/systemd_lib.sh"
sd_test_setup
UNITS=$(cd "$(dirname "$0")/../../dist/units" && pwd)

# Two images with sd-probe: a service that says READY=1 and sleeps, and the socket-activated
# example (its port "http" socketActivated), both named as the unit files expect.
mkimg() { # NAME EXEC-JSON PORTS-JSON FILE
  sd_probe_image "$4" '.name = $n | .labels = (((.labels // []) | map(select(.name != "version"))) + [{"name": "version", "value": "1.0"}])
    | .app.exec = $e | .app.ports = $p' --arg n "$1" --argjson e "$2" --argjson p "$3"
}
mkimg example.com/web '["/bin/sh", "-c", "trap \"echo stopping; exit 0\" TERM; sd-probe notify READY=1; while :; do sleep 1; done"]' '[]' "$T/web.aci"
mkimg example.com/http-socket-activated '["/bin/sd-probe", "serve"]' \
  '[{"name": "http", "protocol": "tcp", "port": 8080, "socketActivated": true}]' "$T/http.aci"
F fetch "$T/http.aci" >/dev/null

sd_boot
install_unit() { # FILE [SED-EXPR...]
  local f=$1
  shift
  sed "s|/usr/bin/ferry |$FERRY --dir $D --insecure-options=image |g" "$UNITS/$f" | sed "$@" |
    in_sd sh -c "cat >/run/systemd/system/$f"
}
install_unit ferry-pod@.service -e ''
install_unit ferry-gc.service -e ''
install_unit ferry-gc.timer -e ''
install_unit ferry-example-http.service -e ''
install_unit ferry-example-http.socket -e 's|^ListenStream=.*|ListenStream=/run/ferry-example-http.sock|'
in_sd mkdir -p /etc/ferry/pods
in_sd sh -c "printf 'FERRY_IMAGE=%s\nFERRY_FLAGS=--pod-memory=64M\n' '$T/web.aci' >/etc/ferry/pods/web.env"
# The throwaway systemd has no network to bring up: without this, the template's
# After=network-online.target waits out systemd-networkd-wait-online's 2-minute timeout.
in_sd systemctl mask --runtime systemd-networkd-wait-online.service >/dev/null 2>&1
in_sd systemctl daemon-reload

# The template.
in_sd systemctl start ferry-pod@web.service
[ "$(in_sd systemctl show -P ActiveState ferry-pod@web.service)" = active ] || fail "ferry-pod@web is not active"
u=$(in_sd cat /run/ferry/web.uuid)
expect_status 0 F status "$u"
grep -q '^state=running' "$T/out" || fail "the pod: $(cat "$T/out")"
ok "ferry-pod@web.service: active once the app said READY=1, its pod $u running"
in_sd systemctl stop ferry-pod@web.service
[ "$(in_sd systemctl show -P Result ferry-pod@web.service)" = success ] || fail "stop: $(in_sd systemctl show -P Result ferry-pod@web.service)"
grep -q stopping "$D"/pods/*/"$u"/logs/web.log || fail "the app got no SIGTERM"
[ -d "$D/pods/exited-garbage/$u" ] || fail "ExecStopPost's gc --mark-only did not mark $u: $(ls "$D"/pods/*)"
ok "systemctl stop: the app's SIGTERM, Result=success, the pod marked by gc --mark-only"

# The gc timer runs the gc service.
in_sd systemctl start ferry-gc.timer
[ "$(in_sd systemctl show -P ActiveState ferry-gc.timer)" = active ] || fail "the timer is not active"
in_sd systemctl start ferry-gc.service
[ "$(in_sd systemctl show -P Result ferry-gc.service)" = success ] || fail "ferry-gc.service: $(in_sd journalctl -u ferry-gc.service --no-pager | tail -3)"
ok "ferry-gc.timer is active and ferry-gc.service runs ferry gc successfully"
in_sd systemctl stop ferry-gc.timer

# The socket-activated example.
in_sd systemctl start ferry-example-http.socket
reply=$(in_sd_readline /run/ferry-example-http.sock || true)
[ "$reply" = "hello http fds=0,1,2,3" ] || fail "the example said: $reply ($(in_sd journalctl -u ferry-example-http.service --no-pager | tail -15))"
ok "ferry-example-http.socket: a client's connection reached the app of the pod it started"
in_sd systemctl stop ferry-example-http.socket ferry-example-http.service
in_sd systemctl reset-failed 2>/dev/null || true
echo "PASS: $checks checks"
