"""E2E: the loadgen crash, run as a real process, against a real Bugsink (Sentry-compatible) and
the real collector. Each run gets its own `environment` (PRODTEL_ENVIRONMENT) so its events can be
told apart in the session's shared Bugsink project."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.app import LOADGEN, clean_env, loadgen, seen_notice
from tests.support.bugsink import Bugsink
from tests.support.collector import Collector

pytestmark = pytest.mark.e2e

FAIL = ("run", "--vus", "2", "--iterations", "4", "--duration", "1s", "--fail")
HOST = socket.gethostname()
USER = "alice-smith"


def marker() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def events_for(bugsink: Bugsink, environment: str) -> list[dict[str, Any]]:
    return [
        ev
        for issue in bugsink.issues()
        for ev in bugsink.events(issue)
        if ev.get("environment") == environment
    ]


def wait_events(bugsink: Bugsink, environment: str, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = events_for(bugsink, environment)
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no Bugsink event for environment {environment}")


def no_host(text: str) -> bool:
    """The host name is absent (as a substring, or as a word when it is too short to search)."""
    if len(HOST) >= 4:
        return HOST.lower() not in text.lower()
    return re.search(rf"(?<![\w]){re.escape(HOST)}(?![\w])", text, re.I) is None


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    seen_notice(h)
    return h


@pytest.mark.parametrize("level", ["all", "crash"])
def test_the_crash_becomes_an_issue_with_os_runtime_and_device(
    bugsink: Bugsink, home: Path, level: str
) -> None:
    env_name = marker()
    r = loadgen(
        *FAIL,
        env=clean_env(
            home,
            SENTRY_DSN=bugsink.dsn,
            LOADGEN_TELEMETRY=level,
            PRODTEL_ENVIRONMENT=env_name,
            PRODTEL_EXIT_TIMEOUT="5",  # this test is about the content, not the budget
        ),
    )
    assert r.returncode == 1 and "deliberate --fail" in r.stderr
    (ev,) = wait_events(bugsink, env_name)
    issue = next(
        i
        for i in bugsink.issues()
        if any(e["event_id"] == ev["event_id"] for e in bugsink.events(i))
    )
    assert issue["calculated_type"] == "RuntimeError"
    assert issue["calculated_value"] == "loadgen: target refused the test plan (deliberate --fail)"
    assert ev["level"] == "fatal" and ev["release"] == "loadgen@0.3.0"
    (exc,) = ev["exception"]["values"]
    assert exc["mechanism"] == {"type": "excepthook", "handled": False}
    frames = exc["stacktrace"]["frames"]
    assert [f["function"] for f in frames[-6:]] == ["explode"] * 6  # the deep stack is there
    c = ev["contexts"]
    assert c["os"]["name"] == "Linux" and c["os"]["kernel_version"]
    assert c["runtime"]["name"] == "CPython" and c["runtime"]["version"].startswith("3.")
    assert c["device"]["arch"] == "amd64" and c["device"]["processor_count"] >= 1
    assert c["device"]["memory_size"] > 0
    assert c["app"]["app_name"] == "loadgen" and c["app"]["app_version"] == "0.3.0"
    assert ev["server_name"] == "prodtel" and "user" not in ev
    raw = json.dumps(ev)
    assert no_host(raw) and str(home) not in raw


@pytest.mark.parametrize(
    "opt_out",
    [
        {"DO_NOT_TRACK": "1"},
        {"LOADGEN_TELEMETRY": "off"},
        {"DO_NOT_TRACK": "1", "LOADGEN_TELEMETRY": "all"},
    ],
    ids=["dnt", "level-off", "dnt-beats-level"],
)
def test_opt_outs_send_nothing_to_bugsink(
    bugsink: Bugsink, home: Path, opt_out: dict[str, str]
) -> None:
    env_name = marker()
    r = loadgen(
        *FAIL,
        env=clean_env(home, SENTRY_DSN=bugsink.dsn, PRODTEL_ENVIRONMENT=env_name, **opt_out),
    )
    assert r.returncode == 1 and "deliberate --fail" in r.stderr  # the crash still shows
    # The audit hook saw no connect to Bugsink at all (only loadgen's own test server), and
    # Bugsink holds nothing of the run.
    assert r.connects
    assert not [c for c in r.connects if f", {bugsink.port})" in c], r.connects
    assert events_for(bugsink, env_name) == []


def test_a_crash_under_a_users_home_leaks_no_name_host_or_path(
    bugsink: Bugsink, collector: Collector, tmp_path: Path
) -> None:
    """The example copied into /…/home/alice-smith/, run from there by user alice-smith."""
    home = tmp_path / "home" / USER
    home.mkdir(parents=True)
    seen_notice(home)
    app_dir = home / "loadgen"
    app_dir.mkdir()
    for f in LOADGEN.parent.glob("*.py"):
        shutil.copy(f, app_dir / f.name)
    env_name = marker()
    env = clean_env(
        home,
        SENTRY_DSN=bugsink.dsn,
        LOADGEN_TELEMETRY_ENDPOINT=collector.endpoint,
        LOADGEN_TELEMETRY="all",
        PRODTEL_ENVIRONMENT=env_name,
        PRODTEL_EXIT_TIMEOUT="5",
        USER=USER,
        LOGNAME=USER,
        PWD=str(app_dir),
    )
    p = subprocess.run(
        [sys.executable, str(app_dir / "loadgen.py"), *FAIL],
        env=env,
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1 and f"{home}/loadgen/loadgen.py" in p.stderr  # the local print

    # Bugsink: the stored event.
    (ev,) = wait_events(bugsink, env_name)
    raw = json.dumps(ev)
    assert USER not in raw and str(home) not in raw and no_host(raw)
    frames = ev["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["abs_path"] == "~/loadgen/loadgen.py"  # was there, rewritten

    # The collector: the exception record in the file exporter's output.
    recs = [x for x in collector.wait_records(3) if x["event_name"] == "exception"]
    deadline = time.monotonic() + 10
    while not recs and time.monotonic() < deadline:
        time.sleep(0.2)
        recs = [x for x in collector.log_records() if x["event_name"] == "exception"]
    (rec,) = recs
    a = rec["attributes"]
    assert a["exception.type"] == "RuntimeError" and a["exception.handled"] is False
    assert 'File "~/loadgen/loadgen.py", line' in a["exception.stacktrace"]
    assert rec["record"]["severityNumber"] in (21, "SEVERITY_NUMBER_FATAL")
    out = collector.out_file.read_text()
    assert USER not in out and str(home) not in out and no_host(out)
    assert os.path.realpath(home) not in out
