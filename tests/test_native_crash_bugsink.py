"""E2E against a real Bugsink: a native crash becomes an issue with faulthandler's frames (next
run -> real collector -> sentry_events exporter), and direct-to-Sentry crashes that could not be
sent while the server was down arrive later, once (the next run, or the detached uploader)."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from prodtel.crash import spool
from tests.support.bugsink import Bugsink
from tests.support.collector import Collector
from tests.test_native_crash import App
from tests.test_sentry_events_e2e import COLLECTOR_CONFIG

pytestmark = pytest.mark.e2e


def events_where(bugsink: Bugsink, key: str, value: str) -> list[dict[str, Any]]:
    return [ev for i in bugsink.issues() for ev in bugsink.events(i) if ev.get(key) == value]


def wait_events(bugsink: Bugsink, key: str, value: str, timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = events_where(bugsink, key, value)
        if found:
            return found
        time.sleep(0.3)
    return []


def test_native_crash_becomes_an_issue_with_its_frames(bugsink: Bugsink, tmp_path: Path) -> None:
    version = f"1.0.0+{uuid.uuid4().hex[:8]}"
    with Collector(tmp_path / "collector", config=COLLECTOR_CONFIG,
                   env={"SENTRY_DSN": bugsink.dsn}) as c:  # fmt: skip
        app = App(tmp_path, c.endpoint)
        assert app.run("segv", version).returncode == -signal.SIGSEGV
        assert app.run("ok", "2.0.0", CRASHER_TELEMETRY="crash").returncode == 0
        [ev] = wait_events(bugsink, "release", version)
    [exc] = ev["exception"]["values"]
    assert exc["type"] == "SIGSEGV" and "native crash" in exc["value"]
    assert exc["mechanism"]["type"] == "faulthandler" and exc["mechanism"]["handled"] is False
    assert ev["level"] == "fatal"
    frames = exc["stacktrace"]["frames"]
    assert [f["function"] for f in frames][-4:] == [
        "main",
        "work",
        "read_null_pointer",
        "string_at",
    ]
    mine = frames[-2]
    assert mine["abs_path"] == "~/src/crasher/crasher.py" and mine["in_app"] is True
    assert str(app.home) not in repr(ev)


@pytest.fixture
def offline(bugsink: Bugsink) -> Any:
    """Bugsink is down while the test's crash runs; `up()` brings it back."""
    bugsink.stop()
    try:
        yield bugsink.start
    finally:
        if bugsink.proc is None:
            bugsink.start()


def crash_offline(bugsink: Bugsink, tmp_path: Path, **env: str) -> tuple[App, str]:
    environment = f"spool-{uuid.uuid4().hex[:10]}"
    app = App(tmp_path, None, CRASHER_DSN=bugsink.dsn, PRODTEL_ENVIRONMENT=environment,
              PRODTEL_EXIT_TIMEOUT="0.5", **env)  # fmt: skip
    r = app.run("raise", "1.0.0")
    assert r.returncode == 1 and "RuntimeError: crasher failed" in r.stderr
    assert spool.Spool(str(app.state)).pending() == 1  # kept, not lost
    return app, environment


def test_crash_sent_while_offline_arrives_once_with_the_next_run(
    bugsink: Bugsink, offline: Any, tmp_path: Path
) -> None:
    # No detached uploader here: the next run must send it.
    app, environment = crash_offline(bugsink, tmp_path, PRODTEL_UPLOADER="1")
    offline()
    posts = bugsink.envelope_posts()
    assert (
        app.run("ok", "1.0.0", CRASHER_TELEMETRY="crash", PRODTEL_EXIT_TIMEOUT="5").returncode == 0
    )
    [ev] = wait_events(bugsink, "environment", environment)
    assert ev["exception"]["values"][-1]["type"] == "RuntimeError"
    assert spool.Spool(str(app.state)).pending() == 0
    assert (
        app.run("ok", "1.0.0", CRASHER_TELEMETRY="crash", PRODTEL_EXIT_TIMEOUT="5").returncode == 0
    )
    time.sleep(1)
    assert len(events_where(bugsink, "environment", environment)) == 1
    assert bugsink.envelope_posts() == posts + 1  # sent once, never again


def test_crash_sent_while_offline_is_delivered_by_the_uploader(
    bugsink: Bugsink, offline: Any, tmp_path: Path
) -> None:
    app, environment = crash_offline(bugsink, tmp_path)
    offline()  # the uploader the crashed run left behind retries for a minute
    [ev] = wait_events(bugsink, "environment", environment, timeout=60)
    assert ev["level"] == "fatal"
    deadline = time.monotonic() + 10
    while spool.Spool(str(app.state)).pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert spool.Spool(str(app.state)).pending() == 0
