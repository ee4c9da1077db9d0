"""The tracking API through the real pipeline (gate, scrubber, stamp), captured in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import prodtel
from prodtel import Attr, Catalog, CatalogError, Event
from prodtel.testing import Captured, capture
from tests.support.collector import Collector

CAT = Catalog(
    "trk",
    [
        Event(
            "script_exported",
            "An export.",
            attrs=[
                Attr("rules", int, "Rules."),
                Attr("path", str, "Where to."),
                Attr("duration_ms", float, "Took."),
                Attr("outcome", str, "How it ended."),
            ],
        ),
        Event(
            "usage_report",
            "Per run.",
            attrs=[
                Attr("vus_max", int, "VUs."),
                Attr("iterations", int, "Iterations."),
            ],
        ),
    ],
    context=[Attr("is_logged_in", bool, "Logged in?")],
)


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    monkeypatch.setenv("TRK_TELEMETRY", "all")
    with capture() as cap:
        prodtel.init(CAT, "1.2.3", config_dir=str(tmp_path), strict=False)
        yield cap
    prodtel.shutdown(0)


def test_track_sends_declared_attributes_and_context(sent: Captured) -> None:
    prodtel.set_context(is_logged_in=True)
    prodtel.track("script_exported", rules=3)
    ev = sent.assert_event("script_exported", rules=3, is_logged_in=True)
    assert len(ev.attrs["log.record.uid"]) == 32


def test_bad_input_in_production_is_dropped_counted_and_never_raises(sent: Captured) -> None:
    prodtel.track("nope", x=1)
    prodtel.track("script_exported", rules="3", path="x" * 1_000_000, secret=object())
    prodtel.track("script_exported", rules=object())
    events = sent.named("script_exported")
    assert [e.attrs.get("rules") for e in events] == [None, None]
    assert len(events[0].attrs["path"]) == 256
    drops = prodtel.status()["drops"]
    assert drops == {
        "unknown_event": 1,
        "invalid_attribute": 2,
        "truncated": 1,
        "unknown_attribute": 1,
    }


def test_strict_mode_raises_naming_the_field(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRK_TELEMETRY", "off")  # strict validates even when off
    prodtel.init(CAT, "1.0", config_dir=str(tmp_path), strict=True)
    with pytest.raises(CatalogError, match="event 'script_exported': attribute 'rules'"):
        prodtel.track("script_exported", rules="many")
    prodtel.shutdown(0)


def test_strings_are_scrubbed_before_they_leave(sent: Captured) -> None:
    home = str(Path.home())
    prodtel.track("script_exported", path=f"{home}/work/a.js for bob@example.com")
    ev = sent.assert_event("script_exported")
    assert ev.attrs["path"] == "~/work/a.js for <email>"


def test_event_decorator_records_duration_and_outcome_not_arguments(sent: Captured) -> None:
    @prodtel.event("script_exported", rules=2)
    def export(secret_arg: str) -> str:
        return secret_arg

    @prodtel.event("script_exported", rules=5)
    def fails() -> None:
        raise KeyError("boom")

    assert export("top-secret") == "top-secret"
    with pytest.raises(KeyError):
        fails()
    ok, err = sent.named("script_exported")
    assert ok.attrs["rules"] == 2 and ok.attrs["outcome"] == "ok"
    assert ok.attrs["duration_ms"] >= 0
    assert err.attrs["outcome"] == "error"
    assert "error_type" not in err.attrs  # not declared on this event: never sent
    assert "top-secret" not in repr(sent.events)


def test_command_decorator_works_on_async_functions(sent: Captured) -> None:
    @prodtel.command("sync")
    async def sync_cmd(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    @prodtel.command("push")
    async def push() -> None:
        raise TimeoutError

    assert asyncio.run(sync_cmd(2)) == 4
    with pytest.raises(TimeoutError):
        asyncio.run(push())
    sent.assert_event("command", command="sync", outcome="ok")
    sent.assert_event("command", command="push", outcome="error", error_type="TimeoutError")


def test_run_summary_sends_one_report(sent: Captured) -> None:
    with prodtel.summary("usage_report") as report:
        report.set(vus_max=5)
        for _ in range(20):
            report.add(iterations=1)
    report.send()  # idempotent
    (ev,) = sent.named("usage_report")
    assert ev.attrs["vus_max"] == 5 and ev.attrs["iterations"] == 20


def test_unsent_summary_goes_out_at_shutdown(sent: Captured) -> None:
    prodtel.summary("usage_report").set(vus_max=1)
    assert sent.named("usage_report") == []
    prodtel.shutdown(1)
    assert len(sent.records) == 1


def test_off_means_nothing_is_captured(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    with capture() as cap:
        prodtel.init(CAT, "1.0", config_dir=str(tmp_path))
        prodtel.track("script_exported", rules=1)
        assert prodtel.current().worker is None  # type: ignore[union-attr]
        cap.assert_nothing_sent()
    prodtel.shutdown(0)


@pytest.mark.parametrize("value", [2**70 + 12345, 2**63, -(2**63) - 1, -(2**64)])
def test_an_int_outside_int64_is_dropped_and_counted_never_wrapped(
    sent: Captured, value: int
) -> None:
    prodtel.track("usage_report", vus_max=value, iterations=7)
    (ev,) = sent.named("usage_report")
    assert "vus_max" not in ev.attrs and ev.attrs["iterations"] == 7
    assert prodtel.status()["drops"] == {"invalid_attribute": 1}


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0])
def test_int64_boundaries_are_sent_as_they_are(sent: Captured, value: int) -> None:
    prodtel.track("usage_report", vus_max=value)
    assert sent.named("usage_report")[0].attrs["vus_max"] == value
    assert prodtel.status()["drops"] == {}


def test_strict_mode_raises_on_an_int_outside_int64(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRK_TELEMETRY", "all")
    prodtel.init(CAT, "1.0", config_dir=str(tmp_path), strict=True)
    msg = f"attribute 'vus_max': integer {2**70 + 12345} is outside the int64 range"
    with pytest.raises(CatalogError, match=msg):
        prodtel.track("usage_report", vus_max=2**70 + 12345)
    with pytest.raises(CatalogError, match="context: attribute 'is_logged_in'"):
        prodtel.set_context(is_logged_in=2**70)
    prodtel.track("usage_report", vus_max=2**63 - 1)  # the boundary is fine
    prodtel.shutdown(0)


def test_the_collector_never_sees_a_wrapped_int(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector: Collector
) -> None:
    monkeypatch.setenv("TRK_TELEMETRY", "all")
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")
    prodtel.init(CAT, "1.0", config_dir=str(tmp_path), endpoint=collector.endpoint)
    prodtel.track("usage_report", vus_max=2**70 + 12345, iterations=1)
    prodtel.track("usage_report", vus_max=2**63 - 1, iterations=2)
    prodtel.track("usage_report", vus_max=-(2**63), iterations=3)
    assert prodtel.flush(10)
    got = {
        int(r["attributes"]["iterations"]): r["attributes"].get("vus_max")
        for r in collector.wait_records(3)
    }
    prodtel.shutdown(0)
    assert {k: None if v is None else int(v) for k, v in got.items()} == {
        1: None,
        2: 2**63 - 1,
        3: -(2**63),
    }


def test_an_app_that_enables_telemetry_while_running_sends_what_it_tracks_next(
    tmp_path: Path,
) -> None:
    """An opt-in app's consent dialog: off at init(), the user says yes, the app calls
    enable(); prodtel.track() and crash hooks reach the new pipeline at once, not from the next
    start (before: enable() started a worker that track() never fed)."""
    from prodtel.consent import levels
    from prodtel.crash.hooks import reporter
    from prodtel.testing import TestHooks
    from tests.support.loopback import Receiver

    rx = Receiver()
    try:
        t = prodtel.init(
            Catalog("dialogapp", [Event("clicked", "A click.")]), "1.0", endpoint=rx.url,
            config_dir=str(tmp_path), policy="opt-in", test_hooks=TestHooks(environ={}),
        )  # fmt: skip
        assert t.decision.level == levels.OFF and t.worker is None
        prodtel.track("clicked")  # before the user said yes: nothing
        assert reporter.t is not t  # no crash reporting while off
        t.enable(levels.ALL, source="dialog")
        prodtel.track("clicked")
        assert prodtel.flush(5)
        assert [r["event_name"] for r in rx.records].count("clicked") == 1
        assert reporter.t is t  # crash reporting is on too
    finally:
        prodtel.shutdown(1)
        rx.close()
