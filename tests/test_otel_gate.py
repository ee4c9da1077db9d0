"""Third-party OpenTelemetry instrumentation in prodtel's providers passes the consent gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber

import prodtel
from prodtel import otel
from prodtel.catalog import Attr, Catalog, Event, Span
from prodtel.consent import levels
from tests.support.collector import Collector, attrs
from tests.support.loopback import wait_until

CAT = Catalog(
    "gated",
    [Event("job_done", "A job finished.", attrs=[Attr("jobs", int, "Count.")])],
    spans=[
        Span("http.get", "A request.", names=["GET"], attrs=[Attr("http.url", str, "URL.")]),
        Span("dropped", "Gated out below level all."),
    ],
)


@pytest.fixture
def telemetry(collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.setenv("GATED_TELEMETRY", "all")
    t = prodtel.init(CAT, "2.0", endpoint=collector.endpoint, config_dir=str(tmp_path / "cfg"))
    yield t
    prodtel.shutdown(1)


def spans(c: Collector) -> list[dict]:
    out = []
    for line in c.lines():
        for rs in line.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                out += [
                    {"name": s["name"], "attributes": attrs(s.get("attributes", []))}
                    for s in ss.get("spans", [])
                ]
    return out


def test_spans_pass_at_level_all_and_are_scrubbed(telemetry, collector: Collector) -> None:  # type: ignore[no-untyped-def]
    tp = otel.tracer_provider()
    with tp.get_tracer("third.party").start_as_current_span("GET") as span:  # type: ignore[attr-defined]
        span.set_attribute("http.url", "https://bob:hunter2@api.example.com/x?mail=bob@example.com")
        try:
            raise ValueError(f"cannot open {Path.home()}/secret.txt")
        except ValueError as e:
            span.record_exception(e)
    tp.force_flush()  # type: ignore[attr-defined]
    got = wait_until(lambda: spans(collector))
    assert [s["name"] for s in got] == ["http.get"]
    url = got[0]["attributes"]["http.url"]
    assert "hunter2" not in url and "bob@example.com" not in url
    raw = collector.out_file.read_text()
    assert "exception.stacktrace" in raw and str(Path.home()) not in raw


def test_gate_drops_spans_below_all_and_logs_by_severity(telemetry, collector: Collector) -> None:  # type: ignore[no-untyped-def]
    tp = otel.tracer_provider()
    lp = otel.logger_provider()
    telemetry.decision.level = levels.CRASH  # as after `enable --level crash`
    with tp.get_tracer("third.party").start_as_current_span("dropped"):  # type: ignore[attr-defined]
        pass
    log = lp.get_logger("third.party")
    log.emit(event_name="job_done", attributes={"jobs": 1}, severity_number=SeverityNumber.INFO)
    telemetry.decision.level = levels.ALL
    log.emit(
        event_name="job_done",
        attributes={"jobs": 2, "secret": "x"},
        severity_number=SeverityNumber.INFO,
    )
    log.emit(body="a plain log line, not an event")
    tp.force_flush()  # type: ignore[attr-defined]
    prodtel.flush(5)
    recs = collector.wait_records(1)
    assert [(r["event_name"], r["attributes"]["jobs"]) for r in recs] == [("job_done", 2)]
    assert "secret" not in recs[0]["attributes"]  # outside the catalog: never leaves
    assert recs[0]["resource"]["service.name"] == "gated"
    assert spans(collector) == []
    assert telemetry.drops["not_an_event"] == 1


def test_off_records_no_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATED_TELEMETRY", "off")
    prodtel.init(CAT, "2.0", endpoint="http://127.0.0.1:9", config_dir=str(tmp_path))
    with otel.tracer_provider().get_tracer("t").start_as_current_span("GET") as span:
        assert not span.is_recording()
    assert prodtel.current().worker is None  # type: ignore[union-attr]
    prodtel.shutdown(0)
