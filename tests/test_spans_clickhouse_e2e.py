"""Spans into ClickHouse for real: an app with httpx instrumentation (tests/support/span_app.py)
-> prodtel's span road -> the real collector running the traces pipeline generated from the
app's catalog with PRODTEL_TRACES_EXPORTERS=[clickhouse] -> the clickhouse exporter -> a
ClickHouse engine (chDB behind ClickHouse's HTTP interface, tests/support/chdb_http.py), in the
`otel_traces` table created by collector-config/clickhouse/otel_traces.sql. The rows read back
hold only declared attributes, scrubbed."""

from __future__ import annotations

import gzip
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from prodtel.collector_config import RESOURCE_KEYS, generate
from prodtel.delivery.encode import Encoder
from prodtel.spans import SpanData
from tests.support.app import clean_env
from tests.support.chdb_http import chdb_exec, chdb_http, queries
from tests.support.collector import ROOT, pipeline
from tests.support.loopback import wait_until
from tests.support.span_app import CATALOG
from tests.support.traces import WebServer

pytestmark = pytest.mark.e2e

OTEL_TRACES_SQL = (ROOT / "collector-config/clickhouse/otel_traces.sql").read_text()
EMAIL = "jane.doe@example.com"
DECLARED = ["http.request.method", "http.response.status_code", "url.full"]
ROWS = (
    "SELECT SpanName, ServiceName, SpanAttributes, ResourceAttributes, StatusMessage, "
    "Events.Name, TraceId FROM otel_traces ORDER BY Timestamp"
)


def ch(port: int, sql: str) -> list[list[Any]]:
    q = urllib.parse.urlencode({"query": sql + " FORMAT JSONCompact"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{q}", timeout=30) as r:
        data: list[list[Any]] = json.loads(r.read())["data"]
        return data


def run_span_app(home: Path, endpoint: str, url: str) -> subprocess.CompletedProcess[bytes]:
    args = [sys.executable, str(ROOT / "tests/support/span_app.py"), endpoint, url, "cfg"]
    env = clean_env(home, SPANAPP_TELEMETRY="all")
    return subprocess.run(args, env=env, cwd=home, capture_output=True, timeout=60)


def post_rogue_spans(port: int, trace_id: int) -> None:
    """What an old or rogue client might post: an undeclared span name with an email in it,
    and a declared one with undeclared, mistyped and personal attributes."""
    now = time.time_ns()
    spans = [
        SpanData(f"notify {EMAIL}", trace_id, 1, start=now, end=now + 1000),
        SpanData(
            "http.client",
            trace_id,
            2,
            start=now,
            end=now + 1000,
            attrs={
                "url.full": f"https://x/?m={EMAIL}",
                "user.email": EMAIL,
                "http.response.status_code": "200",
            },
            events=[(now, f"mail {EMAIL}", {"to": EMAIL})],
            status_code=2,
            status_message=f"failed for {EMAIL}",
        ),
    ]
    resource = {"service.name": "spanapp", "host.name": "erin-fox-laptop", "session.id": "s1"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/v1/traces",
        gzip.compress(Encoder(resource).traces(spans)),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert conn.getresponse().status == 200
    conn.close()


def test_spans_land_in_otel_traces_declared_and_scrubbed(tmp_path: Path) -> None:
    chdb_exec(tmp_path / "ch", OTEL_TRACES_SQL)
    log = tmp_path / "queries.jsonl"
    home = tmp_path / "home"
    home.mkdir()
    rogue_trace = int.from_bytes(b"\x5a" * 16, "big")
    with chdb_http(tmp_path / "ch", log) as port:
        col = pipeline(
            tmp_path / "col",
            generate(CATALOG),
            tmp_path / "data",
            PRODTEL_TRACES_EXPORTERS="[clickhouse]",
            CLICKHOUSE_ENDPOINT=f"http://127.0.0.1:{port}",
            CLICKHOUSE_COMPRESS="none",
            PRODTEL_QUEUE_DIR=str(tmp_path / "queue"),
        ).start()
        try:
            with WebServer() as site:
                r = run_span_app(home, col.endpoint, f"{site.url}/users/{EMAIL}?token=abc123")
            assert r.returncode == 0, r.stderr.decode()
            post_rogue_spans(col.http_port, rogue_trace)
            rows = wait_until(lambda: len(ch(port, ROWS)) >= 2 and ch(port, ROWS), timeout=30)
        finally:
            col.stop()
        assert rows, (ch(port, ROWS), queries(log)[-3:])
        assert not (tmp_path / "data/traces.jsonl").exists()  # routed to ClickHouse only
        sent = queries(log)
        assert not [q for q in sent if "error" in q], [q for q in sent if "error" in q]
        inserts = [q for q in sent if q["sql"].startswith('INSERT INTO "default"."otel_traces"')]
        assert inserts and all(q["sql"].rstrip().endswith("FORMAT Native") for q in inserts)
    assert len(rows) == 2, rows  # the undeclared "notify <email>" span never reached the table
    by_trace = {row[6]: row for row in rows}
    rogue = by_trace.pop("5a" * 16)
    (app,) = by_trace.values()
    name, service, attributes, resource, _, events, _ = app
    assert (name, service) == ("http.client", "spanapp")
    assert sorted(attributes) == DECLARED
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == "200"
    assert EMAIL not in attributes["url.full"] and "<email>" in attributes["url.full"]
    assert "127.0.0.1" not in attributes["url.full"] and "abc123" not in attributes["url.full"]
    assert set(resource) <= set(RESOURCE_KEYS) and resource["service.name"] == "spanapp"
    assert events == []
    # The collector's second line: the mistyped and undeclared attributes are gone, the rest is
    # masked, span events other than "exception" dropped, the host name not stored.
    name, service, attributes, resource, status, events, _ = rogue
    assert (name, service) == ("http.client", "spanapp")
    assert attributes == {"url.full": "https://x/?m=****"}
    assert EMAIL not in status and "****" in status
    assert events == []
    assert "host.name" not in resource
    assert EMAIL not in json.dumps(rows)
