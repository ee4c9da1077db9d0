"""The whole error path with the example app: a deliberate crash in loadgen travels
SDK -> real collector (the generated loadgen pipeline) -> our sentry_events exporter -> real
Bugsink, and becomes one issue with its frames in order and the right line numbers."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest

from prodtel.collector_config import generate
from tests.support.app import LOADGEN, clean_env, loadgen, seen_notice
from tests.support.bugsink import Bugsink
from tests.support.collector import pipeline
from tests.support.loopback import wait_until

pytestmark = pytest.mark.e2e
CATALOG = LOADGEN.parent / "telemetry_catalog.py"


def loadgen_catalog() -> Any:
    from prodtel.catalog_loader import load_catalog

    return load_catalog(f"{CATALOG}:CATALOG")


def find_event(bugsink: Bugsink, installation_id: str) -> dict[str, Any] | None:
    for issue in bugsink.issues():
        if issue.get("calculated_type") != "RuntimeError":
            continue
        for ev in bugsink.events(issue):
            if ev.get("user", {}).get("id") == installation_id:
                return {"issue": issue, "event": ev}
    return None


def test_loadgen_crash_becomes_a_bugsink_issue_through_the_collector(
    bugsink: Bugsink, tmp_path: Path
) -> None:
    c = pipeline(
        tmp_path / "c",
        generate(loadgen_catalog()),
        tmp_path / "data",
        PRODTEL_ERRORS_EXPORTERS="[sentry_events]",
        SENTRY_DSN=bugsink.dsn,
    )
    home = tmp_path / "home"
    home.mkdir()
    seen_notice(home)
    with c:
        r = loadgen(
            "run",
            "--vus",
            "2",
            "--iterations",
            "4",
            "--duration",
            "1s",
            "--fail",
            env=clean_env(home, LOADGEN_TELEMETRY_ENDPOINT=c.endpoint),
        )
        assert r.returncode == 1 and "RuntimeError" in r.stderr
        iid = json.loads((home / ".config/loadgen/telemetry.json").read_text())["installation_id"]
        found = wait_until(lambda: find_event(bugsink, iid), timeout=30)
        assert found, f"no issue in Bugsink; collector log:\n{c.log_file.read_text()[-3000:]}"
        # usage went to analytics, not to the error tracker
        analytics = "".join(p.read_text() for p in (tmp_path / "data").glob("analytics*"))
        assert '"eventName":"usage_report"' in analytics
        assert '"eventName":"exception"' not in analytics

    issue, ev = found["issue"], found["event"]
    assert issue["calculated_value"].startswith("loadgen: target refused the test plan")
    (exc,) = ev["exception"]["values"]
    assert exc["mechanism"]["handled"] is False
    frames = exc["stacktrace"]["frames"]
    names = [f["function"] for f in frames]
    # explode(5) .. explode(0), oldest first; Python prints identical recursive frames once
    # more than three times as "[Previous line repeated N more times]"
    assert names[-4:] == ["explode"] * 4
    assert "run" in names and names.index("run") < names.index("explode")
    source = LOADGEN.read_text().splitlines()
    raise_line = next(i for i, line in enumerate(source, 1) if "raise RuntimeError(" in line)
    assert frames[-1]["lineno"] == raise_line
    assert "raise RuntimeError(" in frames[-1]["context_line"]
    assert ev["release"] == "0.3.0"
    assert ev["contexts"]["os"]["version"] == platform.release()
    assert ev["contexts"]["device"]["arch"] == "amd64"
    assert ev["contexts"]["runtime"]["name"] == "CPython"
    assert "server_name" not in ev
    assert str(home) not in json.dumps(ev)
