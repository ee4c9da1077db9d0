"""Level `local`: everything is recorded, scrubbed and kept on this machine (`telemetry show`),
nothing is uploaded, not even later (Go telemetry's local mode)."""

from __future__ import annotations

import json
from pathlib import Path

import prodtel
from prodtel import Catalog, Event
from prodtel.consent import levels
from prodtel.testing import TestHooks
from tests.support.app import clean_env, loadgen, seen_notice
from tests.support.collector import Collector
from tests.support.loopback import Receiver

RUN = ("run", "--vus", "2", "--iterations", "4", "--duration", "1s")
CAT = Catalog("localapp", [Event("clicked", "A click.")])


def test_local_records_and_shows_but_never_connects(tmp_path: Path, collector: Collector) -> None:
    seen_notice(tmp_path)  # opt-out app past its notice: it would send at `all`
    env = clean_env(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=collector.endpoint)
    r = loadgen("telemetry", "enable", "--level", "local", env=env)
    assert r.returncode == 0, r.stderr
    assert "nothing is sent" in r.stdout
    status = json.loads(loadgen("telemetry", "status", "--json", env=env).stdout)
    assert status["level"] == "local" and status["decided_by"] == "config file"
    run = loadgen(*RUN, env=env)
    assert run.returncode == 0, run.stderr
    port = collector.endpoint.rsplit(":", 1)[1].strip("/")
    assert run.connects and not [c for c in run.connects if port in c]  # only its own server
    shown = json.loads(loadgen("telemetry", "show", "--json", env=env).stdout)
    assert {e["event"] for e in shown} >= {"usage_report", "command"}
    report = next(e for e in shown if e["event"] == "usage_report")
    assert report["attributes"]["vus_max"] == 2
    assert report["resource"]["service.name"] == "loadgen"  # what would have gone with it
    # Opting in afterwards uploads what is recorded from then on, never the local records.
    assert loadgen("telemetry", "enable", env=env).returncode == 0
    pending = json.loads(loadgen("telemetry", "pending", "--json", env=env).stdout)
    assert {p["event"] for p in pending} <= {"TelemetryEnabled"}  # none of the local records
    loadgen(*RUN, env=env)
    recs = collector.wait_records(3)
    assert [r["event_name"] for r in recs].count("usage_report") == 1


def test_env_var_local_keeps_everything_in_process(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver()
    try:
        monkeypatch.setenv("LOCALAPP_TELEMETRY", "local")
        t = prodtel.init(
            CAT,
            "1.0",
            endpoint=rx.url,
            config_dir=str(tmp_path),
            test_hooks=TestHooks(environ={"LOCALAPP_TELEMETRY": "local"}),
        )
        assert t.decision.local and t.decision.level == levels.ALL
        assert t.status()["level"] == "local" and not t.decision.uploads
        prodtel.track("clicked")
        assert t.flush(5)
        prodtel.shutdown(1)
        assert rx.records == []
        from prodtel import sentlog

        kept = sentlog.read(str(tmp_path), 10, sentlog.LOCAL_FILENAME)
        assert [k["event"] for k in kept] == ["clicked"]
        assert kept[0]["attributes"]["log.record.uid"]  # stamped like a sent record
    finally:
        rx.close()


def test_switching_to_local_in_process_stops_uploads(tmp_path: Path) -> None:
    rx = Receiver()
    try:
        env = {"LOCALAPP_TELEMETRY_UNUSED": ""}
        t = prodtel.init(
            CAT, "1.0", endpoint=rx.url, config_dir=str(tmp_path), policy="opt-in",
            test_hooks=TestHooks(environ=env),
        )  # fmt: skip
        t.enable(levels.ALL)
        t.track("clicked", {})
        assert t.flush(5)
        before = len(rx.records)
        assert before >= 1  # TelemetryEnabled and the click
        t.enable(levels.ALL, local=True)
        assert t.decision.local and t.worker is not None
        t.track("clicked", {})
        t.track("clicked", {})
        assert t.flush(5)
        prodtel.shutdown(1)
        assert len(rx.records) == before, (before, rx.records)
    finally:
        rx.close()
