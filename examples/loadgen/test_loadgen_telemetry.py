"""loadgen's own telemetry tests, written the way an app author would, with prodtel's pytest
plugin: the `prodtel_capture` fixture shows what would leave the machine; nothing does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from telemetry_catalog import CATALOG

import loadgen
import prodtel
from prodtel.testing import Captured

RUN = ["run", "--vus", "2", "--iterations", "6", "--duration", "1s"]


@pytest.fixture(autouse=True)
def user_home(prodtel_capture: Captured, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user who has seen the first-run notice, with no opt-out set. The fixture gives each
    test its own config dir; the consent file goes there."""
    for var in ("DO_NOT_TRACK", "LOADGEN_TELEMETRY", "LOADGEN_NO_USAGE_REPORT", "CI"):
        monkeypatch.delenv(var, raising=False)
    assert prodtel_capture.config_dir is not None
    cfg = Path(prodtel_capture.config_dir)
    cfg.mkdir(parents=True)
    (cfg / "telemetry.json").write_text('{"notice_shown_at": "2026-01-01"}')
    yield cfg
    prodtel.shutdown(0)


def test_one_usage_report_per_run(prodtel_capture: Captured) -> None:
    assert loadgen.main(RUN) == 0
    prodtel_capture.assert_event(
        "usage_report", vus_max=2, iterations=6, duration=1.0, st_duration=1.0, is_ci=False
    )
    assert len(prodtel_capture.named("usage_report")) == 1
    prodtel_capture.assert_event("command", command="run", outcome="ok")
    prodtel_capture.assert_matches_catalog(CATALOG)
    prodtel_capture.assert_no_pii()
    assert prodtel_capture.resource["service.name"] == "loadgen"
    assert "host.name" not in prodtel_capture.resource


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ([], {"DO_NOT_TRACK": "1"}),
        ([], {"LOADGEN_NO_USAGE_REPORT": "1"}),
        (["--no-usage-report"], {}),
        ([], {"LOADGEN_TELEMETRY": "off"}),
    ],
    ids=["do-not-track", "app-env", "flag", "level-off"],
)
def test_opt_outs_send_nothing(
    prodtel_capture: Captured, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert loadgen.main(args + RUN) == 0
    prodtel_capture.assert_nothing_sent()


def test_a_crash_is_reported_scrubbed(prodtel_capture: Captured) -> None:
    with pytest.raises(RuntimeError) as err:
        loadgen.main([*RUN, "--fail"])
    sys.excepthook(err.type, err.value, err.tb)  # what the interpreter does with a crash
    crash = prodtel_capture.assert_event("exception", **{"exception.handled": False})
    assert crash.attrs["exception.type"] == "RuntimeError"
    assert "in explode" in crash.attrs["exception.stacktrace"]
    prodtel_capture.assert_event(
        "command", command="run", outcome="error", error_type="RuntimeError"
    )
    prodtel_capture.assert_matches_catalog(CATALOG)
    prodtel_capture.assert_no_pii()


def test_crash_level_sends_the_crash_but_no_usage(
    prodtel_capture: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOADGEN_TELEMETRY", "crash")
    with pytest.raises(RuntimeError) as err:
        loadgen.main([*RUN, "--fail"])
    sys.excepthook(err.type, err.value, err.tb)
    assert [e.name for e in prodtel_capture.events] == ["exception"]
