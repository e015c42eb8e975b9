# shellcheck shell=bash
# Runs the sourcing test in its own network and mount namespaces, so that it may serve on ports
# 443 and 80 of 127.0.0.1 and give names of its own to 127.0.0.1: appc names cannot carry a port,
# so discovery of a name like ferry.test/app always asks https://ferry.test/app?ac-discovery=1.
# Source it first, before tests/functional/lib.sh:
#
#   . "$(dirname "$0")/services/netns.sh"   # re-execs "$0" under `unshare -mn`; inside:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/services/lib.sh"
#   svc_hosts ferry.test                    # /etc/hosts (in this mount namespace only):
#                                           # the names → 127.0.0.1
#   CA_SERVER_NAMES=ferry.test NGINX_HTTPS_PORT=443 NGINX_HTTP_PORT=80 svc_nginx
#
# Inside, loopback is up and is the only interface, so nothing the test starts reaches another
# host, and the ports of the machine's other tests are not in the way. The namespaces go away
# with the test's last process; mounts made inside never show outside. Without the rights to
# make them the test is skipped (exit 77) with the reason.
if [ -z "${FERRY_PRIVATE_NET:-}" ]; then
  if ! command -v unshare >/dev/null 2>&1; then
    echo "SKIP: unshare (util-linux) is not installed"
    exit 77
  fi
  if ! unshare -mn true 2>/dev/null; then
    echo "SKIP: cannot make network and mount namespaces here (needs root)"
    exit 77
  fi
  export FERRY_PRIVATE_NET=$$
  exec unshare -mn --propagation private -- bash "$0" "$@"
fi
if command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ]; then
  PATH=$PATH:/usr/sbin ip link set lo up
else
  echo "SKIP: ip (iproute2) is not installed"
  exit 77
fi
