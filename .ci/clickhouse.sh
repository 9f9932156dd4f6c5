#!/usr/bin/env bash
# Makes a ClickHouse server answer on 127.0.0.1:8123 (HTTP), for the trace-store tests.
# Idempotent: does nothing when one already answers. Installs Debian's clickhouse-server
# (18.16 on bookworm) when missing and starts it as a daemon without systemd, listening on
# loopback only. Exit non-zero with a clear message when it cannot get one running.
set -euo pipefail

PING_URL="http://127.0.0.1:8123/ping"
WAIT_SECONDS="${CLICKHOUSE_WAIT_SECONDS:-60}"
CONFIG=/etc/clickhouse-server/config.xml
LOOPBACK_CONFIG=/etc/clickhouse-server/config.d/ibex-loopback.xml

pings() { [ "$(curl -s --max-time 2 "$PING_URL" 2>/dev/null || true)" = "Ok." ]; }

if pings; then
  echo "clickhouse: already answering on 127.0.0.1:8123"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "clickhouse: not answering on 127.0.0.1:8123 and not root, so cannot install/start it" >&2
  exit 1
fi

if ! command -v clickhouse-server >/dev/null 2>&1; then
  echo "clickhouse: installing clickhouse-server and clickhouse-client (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
fi

# Loopback only, stated explicitly rather than trusting the packaged default (config.d is merged
# over config.xml; the packaged file has every listen_host commented out).
mkdir -p "$(dirname "$LOOPBACK_CONFIG")"
cat > "$LOOPBACK_CONFIG" <<'XML'
<?xml version="1.0"?>
<yandex>
    <listen_host>127.0.0.1</listen_host>
    <listen_host>::1</listen_host>
    <!-- a host without IPv6 still starts, on 127.0.0.1 only -->
    <listen_try>1</listen_try>
</yandex>
XML

# The package normally relies on its init script / systemd unit to prepare these; do it here.
id clickhouse >/dev/null 2>&1 || useradd --system --home-dir /var/lib/clickhouse --shell /usr/sbin/nologin clickhouse
for dir in /var/lib/clickhouse /var/log/clickhouse-server /run/clickhouse-server; do
  mkdir -p "$dir"
  chown -R clickhouse:clickhouse "$dir"
done

echo "clickhouse: starting clickhouse-server as a daemon"
runuser -u clickhouse -- clickhouse-server --daemon \
  --config-file="$CONFIG" \
  --pid-file=/run/clickhouse-server/clickhouse-server.pid

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if pings; then
    echo "clickhouse: answering on 127.0.0.1:8123 ($(curl -s --data-binary 'SELECT version()' "http://127.0.0.1:8123/" | tr -d '\n'))"
    exit 0
  fi
  sleep 1
done

echo "clickhouse: server did not answer $PING_URL within ${WAIT_SECONDS}s; see /var/log/clickhouse-server/clickhouse-server.err.log" >&2
tail -n 20 /var/log/clickhouse-server/clickhouse-server.err.log >&2 2>/dev/null || true
exit 1
