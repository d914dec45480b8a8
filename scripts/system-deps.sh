#!/usr/bin/env bash
# Debian packages the tests and the demo need; installs only what is missing.
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto mosquitto-clients)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# rsyslog: the real syslog receiver of the outputs tests (tests/harness/rsyslog.py); gnutls: its TLS listener
[ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
if [ -n "${FEDNIDS_EXTRA_APT:-}" ]; then need+=(${FEDNIDS_EXTRA_APT}); fi
# debian-archive-keyring: tests/arm fetches arm64 .debs with a private apt state (signed-by it)
for pkg in qemu-user-static iproute2 systemd cloud-init libpcap0.8 debian-archive-keyring mosquitto-clients rsyslog-gnutls; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "system-deps: all present"
fi
