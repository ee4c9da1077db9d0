"""`init(log_errors=True)`: logging.error / logger.exception become error reports (OTLP
`exception` records and, with a DSN, Sentry events) at level `error`; off by default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Catalog
from tests.support.sentry_memory import Start, starts

CAT = Catalog("logapp", [])
DSN = "https://publickey@sentry.example.invalid/42"
log = logging.getLogger("logapp.sync")


@pytest.fixture
def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """start(level, **init) -> (Memory transport, Captured)."""
    with starts(monkeypatch, CAT, "1.0", tmp_path, DSN) as start:
        yield start


def log_both() -> None:
    log.error("sync of %s failed", "/home/alice-smith/notes.txt")
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed")
    log.warning("only a warning")


def test_off_by_default_logs_are_breadcrumbs_only(start: Any) -> None:
    mem, cap = start("all")
    log_both()
    prodtel.flush(5)
    assert cap.named("exception") == []
    assert mem.events == []
    assert logging.getLogger().handlers == [h for h in logging.getLogger().handlers
                                            if type(h).__name__ != "ErrorLogHandler"]  # fmt: skip


def test_log_errors_become_error_reports(start: Any) -> None:
    mem, cap = start("error", log_errors=True)
    log_both()
    prodtel.flush(5)
    recs = cap.named("exception")
    assert [r.attrs["exception.type"] for r in recs] == ["LoggedError", "KeyError"]
    assert recs[0].attrs["exception.message"] == "sync of ~/notes.txt failed"  # scrubbed
    assert all(r.attrs["exception.handled"] is True for r in recs)
    assert "KeyError" in recs[1].attrs["exception.stacktrace"]
    events = mem.events
    assert len(events) == 2
    assert events[0]["logentry"]["formatted"] == "sync of ~/notes.txt failed"
    assert events[1]["exception"]["values"][-1]["type"] == "KeyError"
    assert all(e["level"] == "error" for e in events)


def test_log_errors_need_level_error(start: Any) -> None:
    mem, cap = start("crash", log_errors=True)
    log_both()
    prodtel.flush(5)
    assert cap.named("exception") == []
    assert mem.events == []


def test_the_environment_turns_it_on(start: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODTEL_LOG_ERRORS", "1")
    _, cap = start("all")
    log.error("from the environment")
    prodtel.flush(5)
    assert [r.attrs["exception.message"] for r in cap.named("exception")] == [
        "from the environment"
    ]
