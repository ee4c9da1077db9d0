"""pytest plugin (entry point `pytest11`): opt in with the `prodtel_capture` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prodtel.testing.capture import Captured, capture


@pytest.fixture
def prodtel_capture() -> Iterator[Captured]:
    """Capture what the app would send; nothing leaves the process."""
    with capture() as cap:
        yield cap
