"""A 200 from the collector means the records are stored: kill -9 right after the last answer
loses none of them, and neither does the SIGTERM an operator's pod deletion sends (the collector
must also be gone within the chart's grace period, or Kubernetes kills it anyway).

The shipped generated pipeline (collector-config/loadgen.yaml) on the real collector, N records in
20 requests, each answered 200, then SIGKILL at once. The file path must hold every record when
the process is gone; the clickhouse path (persistent sending queue on file_storage) must deliver
every record after a restart on the same queue directory. Duplicates may appear only where the
exporter had written a batch but not yet deleted it from the queue: the analytics dedup by
log.record.uid, so the test counts distinct uids and bounds the total.
"""

from __future__ import annotations

import gzip
import http.client
import json
import signal
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from prodtel.delivery.encode import Encoder
from tests.support.chdb_http import chdb_exec, chdb_http
from tests.support.collector import ROOT, Collector, pipeline
from tests.support.loopback import free_port, wait_until

pytestmark = pytest.mark.e2e

SHIPPED = (ROOT / "collector-config/loadgen.yaml").read_text()
REQUESTS, PER_REQUEST = 20, 100
OTEL_LOGS_SQL = (ROOT / "src/prodtel/analytics/sql/otel_logs.sql").read_text()


def bodies(session: str) -> tuple[list[bytes], set[str]]:
    resource = {"service.name": "loadgen", "service.version": "0.3.0", "session.id": session}
    enc, uids, out = Encoder(resource), set[str](), []
    for _ in range(REQUESTS):
        recs = []
        for i in range(PER_REQUEST):
            uid = uuid.uuid4().hex
            uids.add(uid)
            attrs = {"command": "run", "duration_ms": float(i), "outcome": "ok"}
            recs.append((time.time_ns(), 9, "command", {**attrs, "log.record.uid": uid}, {}))
        out.append(gzip.compress(enc.encode(recs), 1))
    return out, uids


GRACE_SECONDS = 60  # the chart's terminationGracePeriodSeconds (tests/test_helm.py checks it)


def post_all_then_kill(
    col: Collector, payloads: list[bytes], sig: signal.Signals = signal.SIGKILL
) -> None:
    """Post every payload on one keep-alive connection; each must get 200. Signal the collector
    the moment the last answer is read and wait for it to go (SIGTERM: within the grace period)."""
    conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=30)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    try:
        for body in payloads:
            conn.request("POST", "/v1/logs", body, headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
    finally:
        assert col.proc is not None
        col.proc.send_signal(sig)
        try:
            col.proc.wait(timeout=GRACE_SECONDS)
        finally:
            if col.proc.poll() is None:  # what the kubelet does after the grace period
                col.proc.kill()
                col.proc.wait()
            col.proc = None
        conn.close()


def file_uids(data: Path) -> list[str]:
    out = []
    for p in data.glob("analytics*.jsonl"):
        for line in p.read_text().splitlines():
            for rl in json.loads(line)["resourceLogs"]:
                for sl in rl["scopeLogs"]:
                    for r in sl["logRecords"]:
                        for kv in r["attributes"]:
                            if kv["key"] == "log.record.uid":
                                out.append(kv["value"]["stringValue"])
    return out


def test_file_path_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    col = pipeline(tmp_path, SHIPPED, tmp_path / "data").start()
    payloads, uids = bodies(str(uuid.uuid4()))
    post_all_then_kill(col, payloads)
    got = file_uids(tmp_path / "data")
    assert set(got) == uids and len(got) == len(uids)


def ch_query(port: int, sql: str) -> Any:
    q = urllib.parse.urlencode({"query": sql + " FORMAT JSONCompact"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{q}", timeout=30) as r:
        return json.loads(r.read())["data"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_clickhouse_queue_survives_kill_and_restart(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "ch"
    chdb_exec(db, OTEL_LOGS_SQL)
    with chdb_http(db, tmp_path / "queries.jsonl") as port:
        env = {
            "PRODTEL_ANALYTICS_EXPORTERS": "[clickhouse]",
            "CLICKHOUSE_COMPRESS": "none",
            "PRODTEL_QUEUE_DIR": str(tmp_path / "queue"),
        }
        payloads, uids = bodies(str(uuid.uuid4()))
        # First run: ClickHouse unreachable, so every acknowledged record can only be on disk.
        down = {**env, "CLICKHOUSE_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
        first = pipeline(tmp_path / "c1", SHIPPED, tmp_path / "d", **down).start()
        post_all_then_kill(first, payloads, sig)
        assert ch_query(port, "SELECT count() FROM otel_logs") == [[0]]
        up = {**env, "CLICKHOUSE_ENDPOINT": f"http://127.0.0.1:{port}"}
        col = pipeline(tmp_path / "c2", SHIPPED, tmp_path / "d", **up).start()
        try:
            sql = "SELECT uniqExact(LogAttributes['log.record.uid']), count() FROM otel_logs"
            done = wait_until(lambda: ch_query(port, sql)[0][0] >= len(uids), timeout=60)
            distinct, total = ch_query(port, sql)[0]
            assert done and int(distinct) == len(uids), (distinct, total)
            # At most the batches in flight at the kill come twice.
            assert int(total) - int(distinct) <= PER_REQUEST * REQUESTS
        finally:
            col.stop()
