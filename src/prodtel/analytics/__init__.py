"""Product analytics over the collector's output (the optional `prodtel[analytics]` extra).

- `ingest`: the file exporter's OTLP/JSON lines into an embedded chDB folder (`otel_logs`, the
  clickhouse exporter's table), idempotently.
- `report`: one set of ClickHouse SQL over `otel_logs`, on chDB or a ClickHouse server; output
  as terminal tables, JSON or a self-contained HTML page.

Nothing here is imported by `import prodtel`; chDB, clickhouse-connect and rich load only when
a command runs. CLI: `prodtel analytics ...` or `python -m prodtel.analytics ...`.
"""
