#!/bin/sh
# Applies otel_logs.sql (the clickhouse exporter's logs DDL; the exporter runs with
# create_schema: false) over ClickHouse's native protocol. Inputs come from env:
# CLICKHOUSE_ENDPOINT (tcp://host:port[?secure=true]), CLICKHOUSE_USERNAME, CLICKHOUSE_PASSWORD,
# CLICKHOUSE_DATABASE; DDL_FILE (default /ddl/otel_logs.sql); CLUSTER_NAME (empty: one server);
# RETENTION_DAYS (0: keep everything).
# With a cluster: ReplicatedMergeTree local tables (otel_logs_local) on every node, ON CLUSTER,
# plus a Distributed table named otel_logs, which the exporter writes to and the reports read.
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
db="$CLICKHOUSE_DATABASE"
ddl="${DDL_FILE:-/ddl/otel_logs.sql}"
days="${RETENTION_DAYS:-0}"
case "$days" in ''|*[!0-9]*) echo "schema job: RETENTION_DAYS must be a whole number, got $days" >&2; exit 2 ;; esac
if [ -z "${CLUSTER_NAME:-}" ]; then
  ch --query "CREATE DATABASE IF NOT EXISTS \`$db\`"
  ch --database "$db" --queries-file "$ddl"
  ttl_table="otel_logs"; on_cluster=""
else
  on_cluster=" ON CLUSTER \`$CLUSTER_NAME\`"
  local_ddl="${TMPDIR:-/tmp}/otel_logs_local.sql"
  sed -e "s|^CREATE TABLE IF NOT EXISTS otel_logs (|CREATE TABLE IF NOT EXISTS otel_logs_local$on_cluster (|" \
      -e "s|^) ENGINE = MergeTree()|) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/otel_logs_local', '{replica}')|" \
      "$ddl" > "$local_ddl"
  grep -q "ReplicatedMergeTree" "$local_ddl" || { echo "schema job: $ddl has no MergeTree engine line to replicate" >&2; exit 2; }
  ch --query "CREATE DATABASE IF NOT EXISTS \`$db\`$on_cluster"
  ch --database "$db" --queries-file "$local_ddl"
  ch --database "$db" --query "CREATE TABLE IF NOT EXISTS otel_logs$on_cluster AS otel_logs_local ENGINE = Distributed(\`$CLUSTER_NAME\`, \`$db\`, otel_logs_local, rand())"
  ttl_table="otel_logs_local"
fi
if [ "$days" -gt 0 ]; then
  ch --database "$db" --query "ALTER TABLE $ttl_table$on_cluster MODIFY TTL toDateTime(Timestamp) + INTERVAL $days DAY"
fi
echo "schema job: applied otel_logs DDL to $db on $host:$port${CLUSTER_NAME:+ (cluster $CLUSTER_NAME)}, retention ${days} days (0: none)"
