"""Shared fixtures. Area fixtures live in tests/support/ and are registered here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.collector import Collector

pytest_plugins = ["tests.support.bugsink"]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """The real otelcol-prodtel with a file exporter, on 127.0.0.1."""
    with Collector(tmp_path / "collector") as c:
        yield c
