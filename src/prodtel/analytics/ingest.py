"""Load the collector's file-exporter output (OTLP/JSON lines) into chDB's `otel_logs`.

The parsing is SQL: `file(path, 'LineAsString')`, one typed `JSONExtract` per line, `ARRAY JOIN`
down to records, mapped the way the clickhouse exporter maps them (attributes to
`Map(String, String)` with pdata's AsString rules, EventName, Timestamp falling back to the
observed time). So the same report SQL runs here and on a server the exporter writes to.

Idempotent:
- Per file, `prodtel_ingest_files` remembers how many complete lines (and bytes) went in. The file
  is known by a hash of its first line, so a rotated file (renamed by the exporter) is not read
  again, and only the lines appended since are read from the active one. A partial last line
  (the exporter is still writing it) waits for the next run.
- Every record is deduplicated by its `log.record.uid` attribute (delivery is at-least-once),
  or by a hash of the whole record when it has none, against the rows already stored at the same
  timestamps.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from prodtel.analytics.backend import Chdb

STAGING = "prodtel_ingest_staging"
STATE = "prodtel_ingest_files"
CHUNK = 64 * 1024 * 1024  # read a file's new tail in chunks of this many bytes
# Insert blocks of 128k rows instead of ~1M: a third less peak memory, no slower.
SMALL_BLOCKS = (
    "max_insert_block_size = 131072, min_insert_block_size_rows = 131072,"
    " min_insert_block_size_bytes = 134217728"
)

# One OTLP AnyValue, typed so one JSONExtract per line parses everything. Non-scalar values
# come back as their raw JSON text.
_VALUE = (
    "Tuple(stringValue Nullable(String), boolValue Nullable(Bool), intValue Nullable(String),"
    " doubleValue Nullable(String), arrayValue Nullable(String), kvlistValue Nullable(String),"
    " bytesValue Nullable(String))"
)
_KVS = f"Array(Tuple(key String, value {_VALUE}))"
_REQUEST = (
    "Tuple(resourceLogs Array(Tuple("
    f"resource Tuple(attributes {_KVS}), schemaUrl String, scopeLogs Array(Tuple("
    f"scope Tuple(name String, version String, attributes {_KVS}), schemaUrl String,"
    " logRecords Array(Tuple(timeUnixNano String, observedTimeUnixNano String,"
    " severityNumber UInt8, severityText String, eventName String, traceId String,"
    f" spanId String, flags UInt32, body {_VALUE}, attributes {_KVS})))))))"
)


def _as_string(v: str) -> str:
    """pdata's Value.AsString() for an extracted AnyValue tuple."""
    return (
        f"coalesce({v}.stringValue, toString({v}.boolValue), {v}.intValue,"
        f" {v}.doubleValue, {v}.arrayValue, {v}.kvlistValue, {v}.bytesValue, '')"
    )


def _as_map(kvs: str) -> str:
    return (
        f"mapFromArrays(arrayMap(kv -> kv.key, {kvs}),"
        f" arrayMap(kv -> {_as_string('kv.value')}, {kvs}))"
    )


COLUMNS = (
    "Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,"
    " ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion,"
    " ScopeAttributes, LogAttributes, EventName"
)

# `Key` dedups: the record's uid, else a hash of everything it says.
PARSE = f"""
INSERT INTO {STAGING} ({COLUMNS}, Key)
SELECT
    fromUnixTimestamp64Nano(toInt64OrZero(if(r.timeUnixNano IN ('', '0'),
        r.observedTimeUnixNano, r.timeUnixNano)), 'UTC') AS Timestamp,
    lower(r.traceId) AS TraceId,
    lower(r.spanId) AS SpanId,
    toUInt8(r.flags) AS TraceFlags,
    r.severityText AS SeverityText,
    r.severityNumber AS SeverityNumber,
    ResourceAttributes['service.name'] AS ServiceName,
    {_as_string("r.body")} AS Body,
    rl.schemaUrl AS ResourceSchemaUrl,
    {_as_map("rl.resource.attributes")} AS ResourceAttributes,
    sl.schemaUrl AS ScopeSchemaUrl,
    sl.scope.name AS ScopeName,
    sl.scope.version AS ScopeVersion,
    {_as_map("sl.scope.attributes")} AS ScopeAttributes,
    {_as_map("r.attributes")} AS LogAttributes,
    r.eventName AS EventName,
    if(LogAttributes['log.record.uid'] != '', LogAttributes['log.record.uid'],
       hex(sipHash128(Timestamp, TraceId, SpanId, SeverityNumber, Body, EventName,
                      ResourceAttributes, ScopeName, LogAttributes))) AS Key
FROM (
    SELECT JSONExtract(line, '{_REQUEST}') AS req
    FROM file({{path_literal}}, 'LineAsString')
    WHERE _row_number >= {{first:UInt64}} AND _row_number < {{stop:UInt64}}
)
ARRAY JOIN req.resourceLogs AS rl
ARRAY JOIN rl.scopeLogs AS sl
ARRAY JOIN sl.logRecords AS r
-- pread: the default mmap would add the whole file to the process's resident memory
SETTINGS storage_file_read_method = 'pread', {SMALL_BLOCKS}
"""

# New rows only: not already stored (same key in the batch's time window), once per key.
MERGE = f"""
INSERT INTO otel_logs ({COLUMNS})
SELECT {COLUMNS} FROM {STAGING}
WHERE Key NOT IN (
    SELECT if(LogAttributes['log.record.uid'] != '', LogAttributes['log.record.uid'],
              hex(sipHash128(Timestamp, TraceId, SpanId, SeverityNumber, Body, EventName,
                             ResourceAttributes, ScopeName, LogAttributes)))
    FROM otel_logs
    WHERE Timestamp >= (SELECT min(Timestamp) FROM {STAGING})
      AND Timestamp <= (SELECT max(Timestamp) FROM {STAGING})
)
LIMIT 1 BY Key
SETTINGS {SMALL_BLOCKS}
"""

STATE_DDL = f"""
CREATE TABLE IF NOT EXISTS {STATE} (
    file_key String COMMENT 'hash of the first line: survives the exporter renaming on rotation',
    path String COMMENT 'where it was last seen',
    bytes UInt64 COMMENT 'offset after the last complete line ingested',
    lines UInt64 COMMENT 'complete lines ingested',
    updated DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(updated) ORDER BY file_key
"""

# Parsed rows land here first: otel_logs' column types, none of its indexes, partitions or codecs,
# so the one expensive write is the final one into otel_logs.
STAGING_DDL = f"""
CREATE TABLE {STAGING} (
    Timestamp DateTime64(9), TraceId String, SpanId String, TraceFlags UInt8,
    SeverityText LowCardinality(String), SeverityNumber UInt8, ServiceName LowCardinality(String),
    Body String, ResourceSchemaUrl LowCardinality(String),
    ResourceAttributes Map(LowCardinality(String), String),
    ScopeSchemaUrl LowCardinality(String), ScopeName String, ScopeVersion LowCardinality(String),
    ScopeAttributes Map(LowCardinality(String), String),
    LogAttributes Map(LowCardinality(String), String),
    EventName String, Key String
) ENGINE = MergeTree ORDER BY tuple()
"""


def otel_logs_ddl() -> str:
    """The clickhouse exporter's otel_logs DDL (a copy of collector-config/clickhouse/)."""
    return resources.files("prodtel.analytics").joinpath("sql/otel_logs.sql").read_text()


def ensure_schema(db: Chdb, retention_days: int | None = None) -> None:
    db.execute(otel_logs_ddl())
    if retention_days is not None:
        set_retention(db, retention_days)
    db.execute(STATE_DDL)
    db.execute(f"DROP TABLE IF EXISTS {STAGING}")  # transient: always today's layout
    db.execute(STAGING_DDL)


@dataclass
class FileResult:
    path: Path
    lines: int = 0
    records: int = 0
    inserted: int = 0
    skipped: str = ""


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    deleted: dict[str, Any] = field(default_factory=dict)  # analytics/deletion.py apply()

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)

    @property
    def duplicates(self) -> int:
        return self.records - self.inserted


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files to read: each given file plus its rotated siblings (`name-<timestamp>.ext`, oldest
    first, then the active one); for a directory, every `*.jsonl` in it."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.glob("*.jsonl"))
        else:
            rotated = sorted(p.parent.glob(f"{p.stem}-*{p.suffix}"))
            found = [*rotated, p] if p.exists() else rotated
            if not found:
                raise FileNotFoundError(f"no such file: {p}")
        out.extend(f for f in found if f not in out)
    return out


def _first_line_key(path: Path) -> str | None:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            i = chunk.find(b"\n")
            if i >= 0:
                h.update(chunk[: i + 1])
                return h.hexdigest()[:32]
            h.update(chunk)
    return None  # no complete line yet


def _complete_lines(path: Path, offset: int) -> tuple[int, int]:
    """(new complete lines, offset after the last one) from `offset` to the end now."""
    lines, end, pos = 0, offset, offset
    with path.open("rb") as f:
        f.seek(offset)
        while chunk := f.read(CHUNK):
            n = chunk.count(b"\n")
            if n:
                lines += n
                end = pos + chunk.rfind(b"\n") + 1
            pos += len(chunk)
    return lines, end


def _literal(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


Progress = Callable[[str, float], None]  # (file name, fraction of this file done)


def ingest_file(db: Chdb, path: Path, on_progress: Progress | None = None) -> FileResult:
    res = FileResult(path)
    key = _first_line_key(path)
    if key is None:
        res.skipped = "no complete line yet"
        return res
    state = db.rows(
        f"SELECT bytes, lines FROM {STATE} FINAL WHERE file_key = {{k:String}}", {"k": key}
    )
    done_bytes, done_lines = (state[0]["bytes"], state[0]["lines"]) if state else (0, 0)
    if path.stat().st_size < done_bytes:  # rewritten in place: start over, dedup keeps it exact
        done_bytes, done_lines = 0, 0
    new_lines, end = _complete_lines(path, done_bytes)
    if new_lines == 0:
        res.skipped = "already ingested"
        return res
    res.lines = new_lines
    size = max(1, path.stat().st_size)

    def report(start: float, share: float, done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(path.name, start + share * min(1.0, done / max(1, total)))

    # Progress: parsing (bytes of the file read) is the first half, the merge into otel_logs
    # (rows written) the second; they take about as long.
    db.execute(f"TRUNCATE TABLE {STAGING}")
    with _progress(db, on_progress, lambda p: report(0.0, 0.5, p["read_bytes"], size)):
        db.execute(
            PARSE.replace("{path_literal}", _literal(str(path.resolve()))),
            {"first": done_lines, "stop": done_lines + new_lines},
        )
    res.records = db.rows(f"SELECT count() AS n FROM {STAGING}")[0]["n"]
    before = _count(db)
    with _progress(db, on_progress, lambda p: report(0.5, 0.5, p["written_rows"], res.records)):
        db.execute(MERGE)
    res.inserted = _count(db) - before
    db.execute(f"TRUNCATE TABLE {STAGING}")
    db.execute(
        f"INSERT INTO {STATE} VALUES ({{k:String}}, {{p:String}}, {{b:UInt64}}, {{n:UInt64}},"
        " now64(6))",
        {"k": key, "p": str(path), "b": end, "n": done_lines + new_lines},
    )
    if on_progress is not None:
        on_progress(path.name, 1.0)
    return res


@contextmanager
def _progress(
    db: Chdb, on: Progress | None, callback: Callable[[dict[str, Any]], None]
) -> Iterator[None]:
    """chDB's progress callback, while a statement runs, if anyone listens."""
    if on is None:
        yield
        return
    db.set_progress(callback)
    try:
        yield
    finally:
        db.set_progress(None)


def _count(db: Chdb) -> int:
    n: int = db.rows("SELECT count() AS n FROM otel_logs")[0]["n"]
    return n


def set_retention(db: Chdb, days: int) -> None:
    """Keep `days` days of otel_logs: a table TTL, as on a ClickHouse server (the chart's
    retention_days). Expired rows go at the next merge (or OPTIMIZE TABLE ... FINAL); whole day
    partitions are dropped (ttl_only_drop_parts)."""
    if days < 1:
        raise ValueError(f"retention must be at least 1 day, not {days}")
    db.execute(f"ALTER TABLE otel_logs MODIFY TTL toDateTime(Timestamp) + INTERVAL {days:d} DAY")


def ingest(
    db: Chdb,
    paths: Iterable[Path],
    on_progress: Progress | None = None,
    retention_days: int | None = None,
) -> IngestResult:
    """Ingest `paths` (files, their rotated siblings, or directories) into `db`; with
    `retention_days`, set the table's TTL first."""
    t0 = time.perf_counter()
    ensure_schema(db, retention_days)
    out = IngestResult()
    for p in expand(paths):
        out.files.append(ingest_file(db, p, on_progress))
    from prodtel.analytics import deletion

    out.deleted = deletion.apply(db)  # deletion requests that arrived, and late rows of old ones
    out.seconds = time.perf_counter() - t0
    return out


def describe(result: IngestResult) -> dict[str, Any]:
    """A JSON-ready summary of an ingest."""
    return {
        "files": [
            {
                "path": str(f.path),
                "lines": f.lines,
                "records": f.records,
                "inserted": f.inserted,
                **({"skipped": f.skipped} if f.skipped else {}),
            }
            for f in result.files
        ],
        "records": result.records,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
        "deleted": result.deleted,
        "seconds": round(result.seconds, 3),
    }
