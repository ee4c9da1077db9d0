"""Shared fixtures and the e2e tier. Area fixtures live in tests/support/ and are registered here.

A test is e2e when it starts a real server process: the OCB-built collector or Bugsink. Every
test that uses a server fixture below, directly or through another fixture, is marked e2e at
collection; a test that starts a server in its body carries `@pytest.mark.e2e` itself, and the
harnesses refuse to start for an unmarked test (tests/support/tier.py). Not e2e: in-process
loopback servers (tests/support/loopback.py), child processes of the app under test, and tools
that run and exit (helm, `otelcol-prodtel validate`/`components`, kubernetes-validate) - they
listen on nothing and take about a second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import tier
from tests.support.collector import Collector

pytest_plugins = ["tests.support.bugsink"]

# Fixtures that start a server process, by name: `collector` (here), `bugsink`
# (tests/support/bugsink.py), `sentry_collector` (test_sentry_events_e2e.py), `pipeline`
# (test_analytics_report.py).
SERVER_FIXTURES = frozenset({"collector", "bugsink", "sentry_collector", "pipeline"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    tier.current = item
    try:
        return (yield)
    finally:
        tier.current = None


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """The real otelcol-prodtel with a file exporter, on 127.0.0.1."""
    with Collector(tmp_path / "collector") as c:
        yield c
