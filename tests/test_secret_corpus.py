"""Recall on real-world secret formats: the corpus of ../shared/data/secret-corpus.jsonl.gz (700
secrets in 128 families from the rule tests of gitleaks, see its README), each embedded in an
exception message, through the SDK's Scrubber and through the generated collector pipeline.

A sample leaks when a 12-character run of its secret survives (the whole secret if shorter).
Recall is printed per family; each side must reach 99%. The corpus's false-positive samples are
reported, not asserted (most are placeholders that are harmless to redact).
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.collector import ROOT, Collector, pipeline

CORPUS_NAME = Path("shared", "data", "secret-corpus.jsonl.gz")


def find_corpus() -> Path:
    """shared/data beside the checkout, or beside one of its parents (a worktree or a CI
    checkout one folder deeper); the nearest is the one named in a failure."""
    for folder in ROOT.parents:
        if (folder / CORPUS_NAME).exists():
            return folder / CORPUS_NAME
    return ROOT.parent / CORPUS_NAME


CORPUS = find_corpus()
TARGET = 0.99  # 100% and 99.9% measured: a lost pattern fails here


@dataclass
class Sample:
    family: str
    kind: str
    text: str
    secrets: list[str]

    @property
    def message(self) -> str:
        return f"request failed: config has {self.text} in it"


def load() -> list[Sample]:
    if not CORPUS.exists():
        # A missing corpus must not pass as "no leaks": the recall targets are the point.
        pytest.fail(f"{CORPUS} missing: the tests read shared/data beside the checkout")
    with gzip.open(CORPUS, "rt") as f:
        rows = [json.loads(line) for line in f]
    return [Sample(r["family"], r["kind"], r["text"], r.get("secrets") or []) for r in rows]


def leaked(out: str, secrets: list[str]) -> bool:
    for s in secrets:
        n = min(12, len(s))
        if any(s[i : i + n] in out for i in range(len(s) - n + 1)):
            return True
    return False


def report(side: str, samples: list[Sample], outputs: list[str]) -> float:
    """Print recall per family (and what the fp samples lost); return the overall recall."""
    total: Counter[str] = Counter()
    leaks: Counter[str] = Counter()
    fp_changed = 0
    for s, out in zip(samples, outputs, strict=True):
        if s.kind == "fp":
            fp_changed += out != s.message
        elif s.secrets:
            total[s.family] += 1
            leaks[s.family] += leaked(out, s.secrets)
    n, bad = sum(total.values()), sum(leaks.values())
    recall = 1 - bad / n
    fps = sum(s.kind == "fp" for s in samples)
    lines = [f"\nsecret corpus through the {side}: recall {recall:.1%} ({bad} of {n} leaked)"]
    lines += [f"  {fam:<18} {total[fam] - leaks[fam]:>3}/{total[fam]:<3}" for fam in sorted(total)]
    lines.append(f"  fp samples changed (harmless placeholders mostly): {fp_changed}/{fps}")
    print("\n".join(lines))
    return recall


def test_sdk_recall(capsys: pytest.CaptureFixture[str]) -> None:
    from prodtel.scrub import Scrubber

    samples = load()
    scrub = Scrubber(values={})
    with capsys.disabled():
        recall = report("SDK scrubber", samples, [scrub(s.message) for s in samples])
    assert recall >= TARGET


# -- the collector ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    from prodtel.cli.main import load_catalog
    from prodtel.collector_config import generate

    cat = load_catalog(f"{ROOT}/examples/loadgen/telemetry_catalog.py:CATALOG")
    work = tmp_path_factory.mktemp("corpus")
    c = pipeline(work, generate(cat), work / "data").start()
    yield c
    c.stop()


def through_collector(col: Collector, messages: list[str], batch: int = 200) -> list[str]:
    """Each message as the exception.message of an exception record, a few requests in all;
    what the errors file holds for each, in order."""
    import http.client

    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

    def kv(k: str, v: str | bool) -> KeyValue:
        val = AnyValue(bool_value=v) if isinstance(v, bool) else AnyValue(string_value=v)
        return KeyValue(key=k, value=val)

    session = str(uuid.uuid4())
    resource = {"service.name": "loadgen", "service.version": "0.3.0", "session.id": session}
    for start in range(0, len(messages), batch):
        records = [
            LogRecord(
                time_unix_nano=time.time_ns(),
                severity_number=17,
                event_name="exception",
                attributes=[
                    kv("exception.type", "RuntimeError"),
                    kv("exception.message", msg),
                    kv("exception.handled", True),
                    kv("log.record.uid", f"{start + i:032x}"),
                ],
            )
            for i, msg in enumerate(messages[start : start + batch])
        ]
        rl = ResourceLogs(scope_logs=[ScopeLogs(log_records=records)])
        rl.resource.attributes.extend(kv(k, v) for k, v in resource.items())
        body = ExportLogsServiceRequest(resource_logs=[rl]).SerializeToString()
        conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=60)
        conn.request("POST", "/v1/logs", body, {"Content-Type": "application/x-protobuf"})
        assert conn.getresponse().status == 200
        conn.close()
    path = col.workdir / "data" / "errors.jsonl"
    got: dict[int, str] = {}
    deadline = time.monotonic() + 60
    while len(got) < len(messages) and time.monotonic() < deadline:
        time.sleep(0.2)
        for r in col.log_records(path):
            if r["resource"].get("session.id") == session:
                a = r["attributes"]
                got[int(a["log.record.uid"], 16)] = a["exception.message"]
    assert len(got) == len(messages), f"{len(got)} of {len(messages)} records arrived"
    return [got[i] for i in range(len(messages))]


@pytest.mark.e2e
def test_collector_recall(col: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    samples = load()
    # Exception messages are cut to 2048 characters by the catalog; cut them here alike.
    messages = [s.message[:2048] for s in samples]
    outputs = through_collector(col, messages)
    outputs = [
        o if o != m else s.message for o, m, s in zip(outputs, messages, samples, strict=True)
    ]
    with capsys.disabled():
        recall = report("collector redaction", samples, outputs)
    assert recall >= TARGET


@pytest.mark.e2e
def test_benign_text_survives_the_collector(col: Collector) -> None:
    from tests.test_patterns import BENIGN

    assert through_collector(col, BENIGN) == BENIGN


@pytest.mark.e2e
def test_collector_masks_severity_text_scope_and_schema_urls(col: Collector) -> None:
    """Strings the redaction processor never sees (it scans attributes) go through the same
    patterns in the transform."""
    import http.client

    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

    session = str(uuid.uuid4())
    rec = LogRecord(
        time_unix_nano=time.time_ns(),
        severity_number=9,
        severity_text="a@b.io",
        event_name="usage_report",
        attributes=[KeyValue(key="vus_max", value=AnyValue(int_value=3))],
    )
    scope = ScopeLogs(log_records=[rec], schema_url="https://x.io/hooks/9f8e7d6c5b4a39281706")
    scope.scope.name = "app /home/marta/plugins"
    scope.scope.version = "1.0 AKIAIOSFODNN7EXAMPLE"
    rl = ResourceLogs(scope_logs=[scope], schema_url="https://u:hunter2@x.io/s")
    rl.resource.attributes.extend(
        KeyValue(key=k, value=AnyValue(string_value=v))
        for k, v in {"service.name": "loadgen", "session.id": session}.items()
    )
    conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=30)
    body = ExportLogsServiceRequest(resource_logs=[rl]).SerializeToString()
    conn.request("POST", "/v1/logs", body, {"Content-Type": "application/x-protobuf"})
    assert conn.getresponse().status == 200
    path = col.workdir / "data" / "analytics.jsonl"
    deadline = time.monotonic() + 30
    line: dict[str, object] = {}
    while not line and time.monotonic() < deadline:
        time.sleep(0.1)
        line = next((x for x in col.lines(path) if session in json.dumps(x)), {})
    raw = json.dumps(line)
    for secret in ("a@b.io", "marta", "AKIAIOSFODNN7EXAMPLE", "9f8e7d6c5b4a39281706", "hunter2"):
        assert secret not in raw
    rl_out = line["resourceLogs"][0]  # type: ignore[index]
    sl = rl_out["scopeLogs"][0]
    assert sl["logRecords"][0]["severityText"] == "****"
    assert sl["scope"]["name"] == "app ****/plugins"
    assert sl["scope"]["version"] == "1.0 ****"
    assert sl["schemaUrl"] == "****" and rl_out["schemaUrl"] == "****x.io/s"
