#!/bin/sh
# Applies otel_logs.sql (the clickhouse exporter's logs DDL; the exporter runs with
# create_schema: false) over ClickHouse's native protocol. Inputs come from env:
# CLICKHOUSE_ENDPOINT (tcp://host:port[?secure=true]), CLICKHOUSE_USERNAME, CLICKHOUSE_PASSWORD,
# CLICKHOUSE_DATABASE; DDL_FILE (default /ddl/otel_logs.sql).
set -eu
url="$CLICKHOUSE_ENDPOINT"
case "$url" in
  tcp://*|clickhouse://*) ;;
  *) echo "schema job: the endpoint must use the native protocol (tcp://host:9000), got ${url%%://*}://" >&2
     exit 2 ;;
esac
secure=""
case "$url" in *secure=true*|*secure=1*) secure="--secure" ;; esac
hostport="${url#*://}"
hostport="${hostport%%[/?]*}"
hostport="${hostport%%,*}"
host="${hostport%:*}"
port="${hostport##*:}"
if [ "$host" = "$hostport" ]; then port=9000; fi

ch() {
  clickhouse-client --host "$host" --port "$port" $secure \
    --user "$CLICKHOUSE_USERNAME" --password "$CLICKHOUSE_PASSWORD" "$@"
}

tries=0
until ch --query "SELECT 1" >/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge "${WAIT_TRIES:-60}" ]; then
    echo "schema job: ClickHouse at $host:$port did not answer" >&2
    exit 1
  fi
  echo "schema job: waiting for ClickHouse at $host:$port"
  sleep "${WAIT_SECONDS:-5}"
done
ch --query "CREATE DATABASE IF NOT EXISTS \`$CLICKHOUSE_DATABASE\`"
ch --database "$CLICKHOUSE_DATABASE" --queries-file "${DDL_FILE:-/ddl/otel_logs.sql}"
echo "schema job: applied otel_logs DDL to $CLICKHOUSE_DATABASE on $host:$port"
