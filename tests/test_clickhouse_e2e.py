"""ClickHouse rows for real: the loadgen app (the SDK) -> the shipped collector pipeline -> the
collector's clickhouse exporter -> a ClickHouse engine (chDB behind ClickHouse's HTTP interface,
tests/support/chdb_http.py) -> `prodtel analytics report --clickhouse`. The same records also go
through the file exporter -> `prodtel analytics ingest` -> chDB; both reports must be equal."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.app import clean_env, loadgen, seen_notice
from tests.support.chdb_http import chdb_exec, chdb_http, queries
from tests.support.collector import ROOT, pipeline
from tests.support.loopback import wait_until

pytestmark = pytest.mark.e2e

SHIPPED = (ROOT / "collector-config/loadgen.yaml").read_text()
OTEL_LOGS_SQL = (ROOT / "collector-config/clickhouse/otel_logs.sql").read_text()
RUNS = [
    ("run", "--vus", "5", "--iterations", "20", "--duration", "1s"),
    ("run", "--vus", "2", "--iterations", "3", "--duration", "1s"),
    ("run", "--vus", "1", "--iterations", "1", "--duration", "1s"),
]


def analytics(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "prodtel.analytics", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def ch(port: int, sql: str) -> list[list[Any]]:
    q = urllib.parse.urlencode({"query": sql + " FORMAT JSONCompact"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{q}", timeout=30) as r:
        data: list[list[Any]] = json.loads(r.read())["data"]
        return data


def file_records(data: Path) -> int:
    return sum(p.read_text().count('"eventName"') for p in data.glob("analytics*.jsonl"))


def test_exporter_rows_report_like_the_file_path(tmp_path: Path) -> None:
    chdb_exec(tmp_path / "ch", OTEL_LOGS_SQL)
    home = tmp_path / "home"
    home.mkdir()
    seen_notice(home)
    log = tmp_path / "queries.jsonl"
    with chdb_http(tmp_path / "ch", log) as port:
        col = pipeline(
            tmp_path / "col",
            SHIPPED,
            tmp_path / "data",
            PRODTEL_ANALYTICS_EXPORTERS="[file/analytics, clickhouse]",
            CLICKHOUSE_ENDPOINT=f"http://127.0.0.1:{port}",
            CLICKHOUSE_COMPRESS="none",
            PRODTEL_QUEUE_DIR=str(tmp_path / "queue"),
        ).start()
        try:
            env = clean_env(home, LOADGEN_TELEMETRY_ENDPOINT=col.endpoint)
            for args in RUNS:
                r = loadgen(*args, env=env)
                assert r.returncode == 0, r.stderr
            n = wait_until(lambda: file_records(tmp_path / "data"), timeout=15)
            assert n >= 2 * len(RUNS)
            got = wait_until(
                lambda: ch(port, "SELECT count() FROM otel_logs")[0][0] >= n, timeout=30
            )
            assert got, (ch(port, "SELECT count() FROM otel_logs"), n)
        finally:
            col.stop()
        # What the exporter sent: its server hello, the table check, then Native inserts.
        sent = queries(log)
        assert not [q for q in sent if "error" in q], [q for q in sent if "error" in q]
        inserts = [q for q in sent if q["sql"].startswith("INSERT INTO `default`.`otel_logs`")]
        assert inserts and all(q["sql"].rstrip().endswith("FORMAT Native") for q in inserts)
        row = ch(port, "SELECT ServiceName, EventName, LogAttributes['command'] FROM otel_logs"
                 " WHERE EventName = 'command' LIMIT 1")  # fmt: skip
        assert row == [["loadgen", "command", "run"]]
        over_http = analytics("report", "--clickhouse", f"http://127.0.0.1:{port}/", "--json")
    assert over_http.returncode == 0, over_http.stderr
    i = analytics("ingest", str(tmp_path / "data"), "--db", str(tmp_path / "db"), "--json")
    assert i.returncode == 0, i.stderr
    assert json.loads(i.stdout)["inserted"] == n
    embedded = analytics("report", "--db", str(tmp_path / "db"), "--json")
    assert embedded.returncode == 0, embedded.stderr
    a, b = json.loads(over_http.stdout), json.loads(embedded.stdout)
    assert a.pop("backend") == "clickhouse" and b.pop("backend") == "chdb"
    assert a["summary"]["events"] == n
    assert a == b
