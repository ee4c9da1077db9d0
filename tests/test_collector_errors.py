"""Errors selected to `sentry_events` by env: the generated pipeline turns an exception record
into an issue on a real Sentry-compatible server (Bugsink), after enforcement and redaction."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.bugsink import Bugsink
from tests.test_collector_pipeline import USAGE, Session, rec, start

pytestmark = pytest.mark.e2e


def test_exceptions_become_issues_when_errors_go_to_sentry(
    bugsink: Bugsink, tmp_path: Path
) -> None:
    kind = f"CollectorRoute{uuid.uuid4().hex[:8]}Error"
    c = start(
        tmp_path / "c",
        PRODTEL_ERRORS_EXPORTERS="[sentry_events]",
        SENTRY_DSN=bugsink.dsn,
    )
    try:
        s = Session(c)
        crash = {
            "exception.type": f"app.{kind}",
            "exception.message": "sync failed for bob@example.com",
            "exception.stacktrace": "Traceback (most recent call last):\n"
            '  File "/app/sync.py", line 3, in run\n    push()\n'
            f"app.{kind}: sync failed for bob@example.com\n",
            "exception.handled": True,
            "undeclared": "dropped",
        }
        assert s.post([rec("usage_report", USAGE), rec("exception", crash, sev=17)]) == 200
        s.wait("analytics")

        def mine() -> list[dict[str, Any]]:
            return [i for i in bugsink.issues() if kind in str(i)]

        deadline = time.monotonic() + 20
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.2)
        (issue,) = mine()
        (event,) = bugsink.events(issue)
        text = str(event)
        assert "bob@example.com" not in text  # masked by the collector on the way
        assert "undeclared" not in text
        # Not in the errors file: the env switched the exporter, it did not add one.
        assert not (c.workdir / "data/errors.jsonl").exists() or s.output("errors") == []
    finally:
        c.stop()
