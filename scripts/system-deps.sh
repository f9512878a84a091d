#!/usr/bin/env bash
# Debian packages the monitoring tests use: Prometheus (promtool) and Chromium. redis-server is used
# when present (the embedded Valkey from PyPI is the fallback). Java (17 or newer) and Maven run the
# Apache Kafka broker the broker suites also run on (streams/tools/localstack.py fetches its jars). Installs only what is missing, and only
# where apt-get can run as root; elsewhere the tests that need them say so and are skipped.
set -euo pipefail
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a prometheus service on install; the tests start their own on a free port. Stop that
  # service, and only it (never other Prometheus processes on this host): through its init script, or
  # by the process id in the pid file it wrote.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    if command -v service >/dev/null && service prometheus stop >/dev/null 2>&1; then
      :
    elif [ -s /run/prometheus/prometheus.pid ]; then
      kill "$(cat /run/prometheus/prometheus.pid)" 2>/dev/null || true
    fi
  fi
else
  echo "not installing ${missing[*]} (needs root and apt-get); tests that need them will be skipped" >&2
fi
