"""Ingest of file-exporter OTLP/JSON into chDB: mapping, idempotency, rotation, the lock.

chDB never runs in the pytest process: its native threads would stay behind for the rest of
the suite, and other tests fork. `Remote` runs it in a spawned child and forwards calls.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from prodtel.analytics import synth
from prodtel.analytics.ingest import IngestResult, describe, expand, otel_logs_ddl
from prodtel.analytics.lock import FolderLock, LockBusy

ROOT = Path(__file__).resolve().parents[1]
DAY = synth.NS_PER_DAY
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def _serve(folder: str, wait: float, conn: Connection) -> None:
    """The child: one Chdb on `folder`, answering (op, kwargs) until "close"."""
    from prodtel.analytics import ingest, report
    from prodtel.analytics.backend import Chdb

    try:
        db = Chdb(Path(folder), wait=wait)
    except Exception as e:
        conn.send(("err", e))
        return
    conn.send(("ok", None))
    with db:
        while True:
            op, kw = conn.recv()
            if op == "close":
                return
            try:
                if op == "rows":
                    res: Any = db.rows(kw["sql"], kw.get("params"))
                elif op == "ingest":
                    seen: list[tuple[str, float]] = []
                    r = ingest.ingest(db, kw["paths"], lambda n, f, seen=seen: seen.append((n, f)))
                    res = (r, seen)
                else:
                    res = report.build(db, **kw)
                conn.send(("ok", res))
            except Exception as e:
                conn.send(("err", e))


class Remote:
    """A chDB folder opened in a spawned process: `rows`, `ingest`, `build` (report)."""

    def __init__(self, folder: Path, wait: float = 5.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(str(folder), wait, child), daemon=True)
        self.proc.start()
        self.progress: list[tuple[str, float]] = []
        try:
            self._result()
        except Exception:
            self.proc.join(10)  # a child that could not open the folder exits
            raise

    def _result(self) -> Any:
        if not self.conn.poll(120):
            raise TimeoutError("the chDB process did not answer")
        status, value = self.conn.recv()
        if status == "err":
            raise value  # the child keeps serving: joining it would only wait
        return value

    def _call(self, op: str, **kw: Any) -> Any:
        self.conn.send((op, kw))
        return self._result()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._call("rows", sql=sql, params=params)
        return rows

    def ingest(self, paths: list[Path]) -> IngestResult:
        result, self.progress = self._call("ingest", paths=paths)
        assert isinstance(result, IngestResult)
        return result

    def build(self, **kw: Any) -> dict[str, Any]:
        built: dict[str, Any] = self._call("build", **kw)
        return built

    def close(self) -> None:
        if self.proc.is_alive():
            self.conn.send(("close", {}))
            self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Remote]:
    with Remote(tmp_path / "db") as d:
        yield d


def kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def line(records: list[dict[str, Any]], res: list[dict[str, Any]] | None = None) -> str:
    """One ExportLogsServiceRequest line, as the file exporter writes it."""
    res = res or [kv("service.name", {"stringValue": "app"})]
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": res},
                "schemaUrl": "https://opentelemetry.io/schemas/1.30.0",
                "scopeLogs": [
                    {
                        "scope": {"name": "prodtel", "version": "0.1.0"},
                        "logRecords": records,
                    }
                ],
            }
        ]
    }
    return json.dumps(body) + "\n"


def rec(uid: str, ts: int = T0, event: str = "command", **extra: Any) -> dict[str, Any]:
    return {
        "timeUnixNano": str(ts),
        "observedTimeUnixNano": str(ts),
        "severityNumber": 9,
        "severityText": "INFO",
        "eventName": event,
        "body": {},
        "attributes": [kv("log.record.uid", {"stringValue": uid})],
        **extra,
    }


def count(db: Remote) -> int:
    n: int = db.rows("SELECT count() AS n FROM otel_logs")[0]["n"]
    return n


def test_records_map_like_the_clickhouse_exporter(db: Remote, tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    attrs = [
        kv("s", {"stringValue": "x'y\"z"}),
        kv("b", {"boolValue": False}),
        kv("i", {"intValue": "42"}),
        kv("d", {"doubleValue": 12.5}),
        kv("arr", {"arrayValue": {"values": [{"stringValue": "a"}]}}),
        kv("log.record.uid", {"stringValue": "u1"}),
    ]
    observed_only = rec("u2", event="TelemetryDisabled")
    observed_only["timeUnixNano"] = "0"
    observed_only["observedTimeUnixNano"] = str(T0 + 5)
    res = [
        kv("service.name", {"stringValue": "loadgen"}),
        kv("service.version", {"stringValue": "1.2.0"}),
        kv("app.installation.id", {"stringValue": "i-1"}),
    ]
    traced = {
        **rec("u1"),
        "attributes": attrs,
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "flags": 1,
        "severityNumber": 21,
        "severityText": "FATAL",
        "body": {"stringValue": "boom"},
    }
    f.write_text(line([traced, observed_only], res))
    r = db.ingest([f])
    assert (r.records, r.inserted) == (2, 2)
    rows = db.rows("SELECT * FROM otel_logs ORDER BY Timestamp")
    a, b = rows
    assert a["Timestamp"] == "2026-01-01 00:00:00.000000000"
    assert a["ServiceName"] == "loadgen"
    assert a["ResourceAttributes"]["service.version"] == "1.2.0"
    assert a["ResourceSchemaUrl"] == "https://opentelemetry.io/schemas/1.30.0"
    assert (a["ScopeName"], a["ScopeVersion"]) == ("prodtel", "0.1.0")
    # pdata's AsString(): strings as is, bools/ints/doubles as text, arrays as JSON.
    assert a["LogAttributes"]["s"] == "x'y\"z"
    assert a["LogAttributes"]["b"] == "false"
    assert a["LogAttributes"]["i"] == "42"
    assert a["LogAttributes"]["d"] == "12.5"
    assert json.loads(a["LogAttributes"]["arr"]) == {"values": [{"stringValue": "a"}]}
    assert (a["TraceId"], a["SpanId"], a["TraceFlags"]) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        1,
    )
    assert (a["SeverityNumber"], a["SeverityText"], a["Body"]) == (21, "FATAL", "boom")
    assert a["EventName"] == "command"
    # No event time: the exporter falls back to the observed time.
    assert b["Timestamp"] == "2026-01-01 00:00:00.000000005"
    assert b["EventName"] == "TelemetryDisabled"
    assert b["Body"] == ""


def test_ingesting_twice_changes_nothing(db: Remote, tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    synth.write_jsonl(synth.sessions(installations=30, days=5), f)
    first = db.ingest([f])
    assert first.inserted == first.records > 100
    snapshot = db.rows("SELECT EventName, count() AS n FROM otel_logs GROUP BY 1 ORDER BY 1")
    again = db.ingest([f])
    assert again.records == 0 and again.files[0].skipped == "already ingested"
    assert db.rows("SELECT EventName, count() AS n FROM otel_logs GROUP BY 1 ORDER BY 1") == (
        snapshot
    )


def test_only_new_complete_lines_are_read(db: Remote, tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text(line([rec("a")]) + line([rec("b"), rec("c")]))
    assert db.ingest([f]).inserted == 3
    # The exporter is mid-write: a new full line and half of the next one.
    partial = line([rec("e")])
    with f.open("a") as fh:
        fh.write(line([rec("d")]) + partial[:20])
    r = db.ingest([f])
    assert (r.files[0].lines, r.inserted) == (1, 1)
    with f.open("a") as fh:
        fh.write(partial[20:])
    r = db.ingest([f])
    assert (r.files[0].lines, r.inserted) == (1, 1)
    assert count(db) == 5
    state = db.rows("SELECT bytes, lines FROM prodtel_ingest_files FINAL")
    assert state == [{"bytes": f.stat().st_size, "lines": 4}]


def test_rotated_files_are_found_and_not_read_twice(db: Remote, tmp_path: Path) -> None:
    active = tmp_path / "out.jsonl"
    active.write_text(line([rec("a"), rec("b")]))
    assert db.ingest([active]).inserted == 2
    # Rotation: the exporter renames the active file and starts a new one.
    rotated = tmp_path / "out-2026-01-02T00-00-00.000.jsonl"
    active.rename(rotated)
    active.write_text(line([rec("c")]))
    assert expand([active]) == [rotated, active]
    r = db.ingest([active])
    by_name = {x.path.name: x for x in r.files}
    assert by_name[rotated.name].skipped == "already ingested"
    assert by_name[active.name].inserted == 1
    assert count(db) == 3


def test_duplicate_records_are_dropped_by_uid(db: Remote, tmp_path: Path) -> None:
    # At-least-once delivery: the same record in two files, and twice in one line.
    (tmp_path / "a.jsonl").write_text(line([rec("u1"), rec("u2"), rec("u2")]))
    (tmp_path / "b.jsonl").write_text(line([rec("u2"), rec("u3", ts=T0 + DAY)]))
    r = db.ingest([tmp_path])
    assert (r.records, r.inserted, r.duplicates) == (5, 3, 2)
    uids = db.rows("SELECT LogAttributes['log.record.uid'] AS u FROM otel_logs ORDER BY u")
    assert [x["u"] for x in uids] == ["u1", "u2", "u3"]
    assert describe(r)["duplicates"] == 2


def test_records_without_uid_dedup_by_content(db: Remote, tmp_path: Path) -> None:
    plain = {**rec("x"), "attributes": [kv("command", {"stringValue": "run"})]}
    other = {**plain, "timeUnixNano": str(T0 + 1)}
    (tmp_path / "a.jsonl").write_text(line([plain, other]))
    (tmp_path / "b.jsonl").write_text(line([plain]))
    r = db.ingest([tmp_path])
    assert (r.records, r.inserted) == (3, 2)


def test_progress_reaches_the_end(db: Remote, tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    synth.write_jsonl(synth.sessions(installations=20, days=3), f)
    db.ingest([f])
    seen = db.progress
    assert seen[-1] == ("out.jsonl", 1.0)
    assert all(0.0 <= frac <= 1.0 for _, frac in seen)


def test_missing_file_is_an_error(db: Remote, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        db.ingest([tmp_path / "nope.jsonl"])


def test_schema_is_the_collector_one() -> None:
    """The packaged DDL is the collector's (collector-config/clickhouse/otel_logs.sql)."""
    shipped = (ROOT / "collector-config/clickhouse/otel_logs.sql").read_text()

    def statement(sql: str) -> str:
        return "\n".join(x for x in sql.splitlines() if not x.startswith("--")).strip()

    assert statement(otel_logs_ddl()) == statement(shipped)


HOLD = """
import sys, time
from pathlib import Path
from prodtel.analytics.backend import Chdb
with Chdb(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(folder: Path, seconds: float) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "holding"
    return p


def test_second_process_fails_clearly_after_waiting(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    holder = _holder(folder, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockBusy) as err:
            Remote(folder, wait=0.5)
        waited = time.monotonic() - t0
        assert waited >= 0.5
        msg = str(err.value)
        assert f"pid {holder.pid}" in msg
        assert "one process per folder" in msg and "--wait" in msg
    finally:
        holder.kill()
        holder.wait()


def test_waiting_writer_gets_the_folder_when_it_is_released(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    holder = _holder(folder, 1.0)
    try:
        t0 = time.monotonic()
        with Remote(folder, wait=30) as d:
            assert time.monotonic() - t0 > 0.5  # it only got in after the holder let go
            assert d.rows("SELECT 1 AS x") == [{"x": 1}]
    finally:
        holder.wait()


def test_lock_is_reentrant_after_release(tmp_path: Path) -> None:
    lock = FolderLock(tmp_path, wait=0)
    with lock:
        assert (tmp_path / "prodtel-analytics.lock").read_text().strip() == str(os.getpid())
        with pytest.raises(LockBusy):
            FolderLock(tmp_path, wait=0).acquire()
    with FolderLock(tmp_path, wait=0):
        pass


def test_import_prodtel_loads_no_analytics_dependency() -> None:
    code = (
        "import sys, prodtel, prodtel.analytics, prodtel.cli.analytics\n"
        "bad = [m for m in ('chdb', 'clickhouse_connect', 'rich', 'pandas', 'pyarrow')"
        " if m in sys.modules]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.e2e
def test_real_rotation_by_the_file_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector's own rotation (1 MB files): every record once, whatever file it is in."""
    import prodtel
    from prodtel import Attr, Catalog, Event
    from tests.support.collector import FILE_CONFIG, Collector, file_config

    config = file_config(rotation={"max_megabytes": 1})
    assert config != FILE_CONFIG
    catalog = Catalog(
        app="rotator",
        events=[Event("tick", "A tick.", since="0.1.0", attrs=[Attr("n", int, "Counter.")])],
    )
    monkeypatch.setenv("ROTATOR_TELEMETRY", "all")
    sent = 6000
    with Collector(tmp_path / "collector", config=config) as c:
        prodtel.init(catalog, version="1.0.0", endpoint=c.endpoint,
                     config_dir=str(tmp_path / "cfg"), exit_timeout=10.0)  # fmt: skip
        half = sent // 2
        with Remote(tmp_path / "db") as d:
            for n in range(half):
                prodtel.track("tick", n=n)
            assert prodtel.flush(20)
            time.sleep(0.5)  # the exporter's flush interval
            first = d.ingest([c.out_file])  # while the collector keeps writing
            for n in range(half, sent):
                prodtel.track("tick", n=n)
            prodtel.shutdown(20)
            from prodtel import crash

            crash.uninstall()  # init() hooked sys.excepthook; leave the interpreter as it was
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                files = expand([c.out_file])
                if sum(len(list(c.log_records(f))) for f in files) >= sent:
                    break
                time.sleep(0.2)
            assert len(files) >= 2, files  # it really rotated
            second = d.ingest([c.out_file])
            again = d.ingest([c.out_file])
            rows = d.rows(
                "SELECT count() AS n, uniqExact(LogAttributes['n']) AS u FROM otel_logs"
                " WHERE EventName = 'tick'"
            )
    # The first ingest read the then-active file, which the exporter renamed later on.
    assert [f.path.name for f in first.files] == ["out.jsonl"] and first.inserted > 0
    # Then only what came after was read, from the renamed file and the new one: no record was
    # read twice (the uid dedup had nothing to do).
    assert second.records == second.inserted == sent - first.records
    assert again.inserted == 0 and all(f.skipped == "already ingested" for f in again.files)
    assert rows == [{"n": sent, "u": sent}]


def test_chdb_never_loaded_in_the_test_process() -> None:
    """Last in the module: everything above ran chDB in child processes."""
    assert "chdb" not in sys.modules


def test_retention_days_sets_a_ttl_that_drops_old_rows(tmp_path: Path) -> None:
    import datetime as dt

    from prodtel.analytics import synth
    from tests.support.chdb_http import assert_retention

    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=19)
    synth.write_jsonl(
        synth.sessions(installations=30, days=20, start=start, seed=3), tmp_path / "out.jsonl"
    )
    cmd = [sys.executable, "-m", "prodtel.analytics", "ingest", str(tmp_path / "out.jsonl")]
    r = subprocess.run(
        [*cmd, "--db", str(tmp_path / "db"), "--retention-days", "7"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert_retention(tmp_path / "db", 7, today)
    bad = subprocess.run(
        [*cmd, "--db", str(tmp_path / "db"), "--retention-days", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "expected a whole number of days >= 1" in bad.stderr
