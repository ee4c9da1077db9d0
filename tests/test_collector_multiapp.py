"""One collector for many apps: the shipped collector-config/apps.yaml (loadgen + notes catalogs)
on the real collector holds each app's records to its own catalog by service.name."""

from __future__ import annotations

import gzip
import http.client
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from prodtel.delivery.encode import Encoder
from tests.support.collector import ROOT, Collector, pipeline

pytestmark = pytest.mark.e2e

SHIPPED = (ROOT / "collector-config/apps.yaml").read_text()


@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    d = tmp_path_factory.mktemp("apps")
    c = pipeline(d, SHIPPED, d / "data").start()
    yield c
    c.stop()


def send(col: Collector, app: str, records: list[tuple[str, dict[str, Any]]]) -> str:
    """Post records under service.name=app in one request; returns the session id."""
    session = str(uuid.uuid4())
    enc = Encoder({"service.name": app, "service.version": "1.0.0", "session.id": session})
    body = enc.encode(
        [
            (time.time_ns(), 9, name, {**attrs, "log.record.uid": uuid.uuid4().hex}, {})
            for name, attrs in records
        ]
    )
    conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=30)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    conn.request("POST", "/v1/logs", gzip.compress(body), headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200
    return session


def stored(col: Collector, session: str, n: int) -> list[dict[str, Any]]:
    path = col.workdir / "data" / "analytics.jsonl"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        recs = [r for r in col.log_records(path) if r["resource"].get("session.id") == session]
        if len(recs) >= n:
            time.sleep(0.2)  # anything extra would have been written with them
            return [r for r in col.log_records(path) if r["resource"].get("session.id") == session]
        time.sleep(0.05)
    raise TimeoutError(f"expected {n} records for {session}")


def test_each_app_keeps_only_its_own_declared_attributes(col: Collector) -> None:
    usage = {"vus_max": 5, "iterations": 2, "duration": 1.0, "st_duration": 1.0}
    s1 = send(col, "loadgen", [("usage_report", {**usage, "words": 3})])
    s2 = send(col, "notes", [("note_added", {"words": 3, "vus_max": 5})])
    (loadgen,) = stored(col, s1, 1)
    (notes,) = stored(col, s2, 1)
    assert set(loadgen["attributes"]) == {*usage, "log.record.uid"}  # no "words" from notes
    assert notes["attributes"]["words"] == 3 and "vus_max" not in notes["attributes"]


def test_another_apps_event_name_and_unknown_apps_are_dropped(col: Collector) -> None:
    # Each request ends with one record that must arrive: once it is written, the others have
    # been through the pipeline too.
    s1 = send(col, "notes", [("usage_report", {"vus_max": 1}), ("note_added", {"words": 1})])
    assert [r["event_name"] for r in stored(col, s1, 1)] == ["note_added"]
    s2 = send(col, "loadgen", [("note_added", {"words": 1}), ("script_exported", {"format": "js"})])
    assert [r["event_name"] for r in stored(col, s2, 1)] == ["script_exported"]
    stranger = send(col, "stranger", [("note_added", {"words": 1})])
    s3 = send(col, "notes", [("note_added", {"words": 2})])
    stored(col, s3, 1)
    path = col.workdir / "data" / "analytics.jsonl"
    assert not [r for r in col.log_records(path) if r["resource"].get("session.id") == stranger]
