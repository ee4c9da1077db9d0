#!/bin/sh
# Applies the clickhouse exporter's DDL (the exporter runs with create_schema: false) over
# ClickHouse's native protocol: otel_logs.sql (events and errors) and otel_traces.sql (spans),
# from $DDL_DIR (default /ddl). Inputs come from env: CLICKHOUSE_ENDPOINT
# (tcp://host:port[?secure=true]), CLICKHOUSE_USERNAME, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE;
# CLUSTER_NAME (empty: one server); RETENTION_DAYS (0: keep everything).
# With a cluster: per table, ReplicatedMergeTree local tables (otel_logs_local,
# otel_traces_local) on every node, ON CLUSTER, plus a Distributed table under the plain name,
# which the exporter writes to and the reports read. Logs are sharded by rand(), spans by trace
# (a trace's spans stay on one shard).
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
dir="${DDL_DIR:-/ddl}"
days="${RETENTION_DAYS:-0}"
case "$days" in ''|*[!0-9]*) echo "schema job: RETENTION_DAYS must be a whole number, got $days" >&2; exit 2 ;; esac
if [ -z "${CLUSTER_NAME:-}" ]; then
  on_cluster=""
  ch --query "CREATE DATABASE IF NOT EXISTS \`$db\`"
else
  on_cluster=" ON CLUSTER \`$CLUSTER_NAME\`"
  ch --query "CREATE DATABASE IF NOT EXISTS \`$db\`$on_cluster"
fi
for table in otel_logs otel_traces; do
  ddl="$dir/$table.sql"
  [ -f "$ddl" ] || { echo "schema job: $ddl is missing" >&2; exit 2; }
  if [ -z "$on_cluster" ]; then
    ch --database "$db" --queries-file "$ddl"
    ttl_table="$table"
  else
    case "$table" in otel_traces) shard="cityHash64(TraceId)" ;; *) shard="rand()" ;; esac
    local_ddl="${TMPDIR:-/tmp}/${table}_local.sql"
    sed -e "s|^CREATE TABLE IF NOT EXISTS $table (|CREATE TABLE IF NOT EXISTS ${table}_local$on_cluster (|" \
        -e "s|^) ENGINE = MergeTree()|) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/${table}_local', '{replica}')|" \
        "$ddl" > "$local_ddl"
    grep -q "ReplicatedMergeTree" "$local_ddl" || { echo "schema job: $ddl has no MergeTree engine line to replicate" >&2; exit 2; }
    grep -q "^CREATE TABLE IF NOT EXISTS ${table}_local" "$local_ddl" || { echo "schema job: $ddl does not create table $table" >&2; exit 2; }
    ch --database "$db" --queries-file "$local_ddl"
    ch --database "$db" --query "CREATE TABLE IF NOT EXISTS $table$on_cluster AS ${table}_local ENGINE = Distributed(\`$CLUSTER_NAME\`, \`$db\`, ${table}_local, $shard)"
    ttl_table="${table}_local"
  fi
  if [ "$days" -gt 0 ]; then
    ch --database "$db" --query "ALTER TABLE $ttl_table$on_cluster MODIFY TTL toDateTime(Timestamp) + INTERVAL $days DAY"
  fi
done
echo "schema job: applied the otel_logs and otel_traces DDL to $db on $host:$port${CLUSTER_NAME:+ (cluster $CLUSTER_NAME)}, retention ${days} days (0: none)"
