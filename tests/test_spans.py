"""OpenTelemetry spans take prodtel's road: consent, catalog, scrubber, our encoder, the outbox,
the worker and its bounded exit, then POST /v1/traces. In-process receivers only (unit tier);
the real collector is in test_spans_e2e.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

import prodtel
from prodtel import Attr, Catalog, Span, otel
from prodtel.delivery import upload
from prodtel.delivery.outbox import Outbox
from tests.support.app import clean_env
from tests.support.loopback import refused_url, wait_until
from tests.support.span_app import CATALOG as APP_CATALOG
from tests.support.traces import OTLPReceiver, WebServer

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "jane.doe@example.com"
CAT = Catalog(
    "spans",
    [],
    spans=[
        Span(
            "job.run",
            "A job.",
            names=["run job"],
            attrs=[Attr("job.kind", str, "Kind."), Attr("job.items", int, "Items.")],
        )
    ],
)


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    r = OTLPReceiver()
    yield r
    r.close()


@pytest.fixture
def on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: OTLPReceiver) -> Iterator[None]:
    monkeypatch.setenv("SPANS_TELEMETRY", "all")
    prodtel.init(CAT, "1.0", endpoint=receiver.url, config_dir=str(tmp_path / "cfg"))
    yield
    prodtel.shutdown(0)


def test_a_short_lived_app_delivers_its_spans_at_exit(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    """The app makes one instrumented request and exits; nobody flushes anything."""
    with WebServer() as target:
        env = clean_env(tmp_path, SPANAPP_TELEMETRY="all", PRODTEL_EXIT_TIMEOUT="2")
        app = ROOT / "tests/support/span_app.py"
        args = [sys.executable, str(app), receiver.url, f"{target.url}/x?m={EMAIL}", "cfg"]
        r = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    spans = wait_until(lambda: receiver.spans, timeout=10)
    assert [s["name"] for s in spans] == ["http.client"]
    assert "/v1/traces" in receiver.paths and "/v1/logs" not in receiver.paths
    attrs = spans[0]["attributes"]
    assert set(attrs) == {"http.request.method", "http.response.status_code", "url.full"}
    assert attrs["http.response.status_code"] == 200
    assert EMAIL not in attrs["url.full"] and "<email>" in attrs["url.full"]
    assert spans[0]["resource"]["service.name"] == "spanapp"


def test_names_and_every_string_are_scrubbed_or_dropped(on: None, receiver: OTLPReceiver) -> None:
    tracer = otel.tracer_provider().get_tracer("jobs")
    with tracer.start_as_current_span(f"notify {EMAIL}"):
        pass  # undeclared: never leaves, whatever it is called
    other = tracer.start_span("linked")
    with tracer.start_as_current_span(
        "run job", links=[Link(other.get_span_context(), {"peer": f"mail {EMAIL}"})]
    ) as span:
        span.set_attribute("job.kind", f"for {EMAIL}")
        span.set_attribute("job.items", 3)
        span.set_attribute("user.email", EMAIL)  # undeclared attribute
        span.add_event(f"sent to {EMAIL}", {"to": EMAIL})  # not an exception event
        try:
            raise ValueError(f"cannot open {Path.home()}/secret.txt for {EMAIL}")
        except ValueError as e:
            span.record_exception(e)
        span.set_status(Status(StatusCode.ERROR, f"failed for {EMAIL}"))
    other.end()
    assert prodtel.flush(5)
    (got,) = receiver.spans
    assert got["name"] == "job.run"
    assert got["attributes"] == {"job.kind": "for <email>", "job.items": 3}
    assert [name for name, _ in got["events"]] == ["exception"]
    assert got["links"] == []  # links never leave (the collector drops spans with links)
    assert got["status"] == (2, "failed for <email>")
    raw = repr([s["span"] for s in receiver.spans])
    assert EMAIL not in raw and str(Path.home()) not in raw
    assert "exception.stacktrace" in raw
    t = prodtel.current()
    assert t is not None and t.drops["unknown_span"] == 2  # "notify ..." and "linked"


@pytest.mark.parametrize("state", ["before init", "DO_NOT_TRACK", "level crash", "level local"])
def test_the_providers_are_real_in_every_consent_state(
    state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if state == "DO_NOT_TRACK":
        monkeypatch.setenv("DO_NOT_TRACK", "1")
    if state.startswith("level "):
        monkeypatch.setenv("SPANS_TELEMETRY", state.removeprefix("level "))
    if state != "before init":
        prodtel.init(CAT, "1.0", endpoint=refused_url(), config_dir=str(tmp_path))
    tp, lp = otel.tracer_provider(), otel.logger_provider()
    mine = InMemorySpanExporter()
    tp.add_span_processor(SimpleSpanProcessor(mine))
    lp.add_log_record_processor(SimpleLogRecordProcessor(InMemoryLogRecordExporter()))
    with tp.get_tracer("t").start_as_current_span("run job") as span:
        assert not span.is_recording()  # usage data may not leave: nothing is recorded
    assert tp.force_flush() and lp.force_flush()
    tp.shutdown()
    lp.shutdown()
    assert mine.get_finished_spans() == ()
    prodtel.shutdown(0)


def test_spans_wait_in_the_outbox_and_the_uploader_posts_them_to_v1_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: OTLPReceiver
) -> None:
    monkeypatch.setenv("SPANS_TELEMETRY", "all")
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")  # no detached uploader: this test runs it
    state = tmp_path / "state"
    prodtel.init(CAT, "1.0", endpoint=refused_url(), config_dir=str(state))
    with otel.tracer_provider().get_tracer("t").start_as_current_span("run job") as span:
        span.set_attribute("job.items", 7)
    prodtel.track("TelemetryEnabled", level="all", source="api")
    prodtel.shutdown(0.2)
    kinds = sorted(k for k, _ in Outbox(str(state)).peek_kinds())
    assert kinds == ["logs", "traces"]
    assert upload.run(str(state), f"{receiver.url}/v1/logs", budget_s=20) == 0
    assert [s["attributes"] for s in receiver.spans] == [{"job.items": 7}]
    assert [r["event_name"] for r in receiver.records] == ["TelemetryEnabled"]
    assert sorted(set(receiver.paths)) == ["/v1/logs", "/v1/traces"]


def test_an_outbox_from_before_spans_reads_as_logs(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "outbox.sqlite3")
    db.executescript(
        "CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, first_ns INTEGER NOT NULL,"
        " last_ns INTEGER NOT NULL, count INTEGER NOT NULL, size INTEGER NOT NULL,"
        " body BLOB NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " lease_until REAL NOT NULL DEFAULT 0);"
        "INSERT INTO batches(first_ns, last_ns, count, size, body, created)"
        " VALUES (1, 1, 1, 1, x'00', 0);"
    )
    db.commit()
    db.close()
    box = Outbox(str(tmp_path))
    (batch,) = box.lease(10, 1 << 20)
    assert batch.kind == "logs"


def test_the_usage_page_lists_declared_spans() -> None:
    from prodtel import docs

    page = docs.render(APP_CATALOG)
    assert "## Spans" in page
    assert "| `http.client` |" in page and "`GET`, `POST`" in page
    assert "`url.full` (string)" in page


def test_pending_lists_spans_waiting_in_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodtel.cli import commands

    monkeypatch.setenv("SPANS_TELEMETRY", "all")
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")
    t = prodtel.init(CAT, "1.0", endpoint=refused_url(), config_dir=str(tmp_path))
    with otel.tracer_provider().get_tracer("t").start_as_current_span("run job") as span:
        span.set_attribute("job.items", 2)
    prodtel.shutdown(0.1)
    assert {"event": "job.run", "kind": "span", "attributes": {"job.items": "2"}} in (
        commands.pending(t)
    )
