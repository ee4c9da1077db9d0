"""pytest plugin (entry point `pytest11`): opt in with the `prodtel_capture` fixture.

Each test gets its own config and state dir (the consent file and the outbox never touch the
developer's home) and a strict catalog: a mistyped or undeclared attribute in `track()` raises
CatalogError instead of being dropped silently. Opt out of strict mode per test with
`@pytest.mark.prodtel_capture(strict=False)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prodtel.testing.capture import Captured, capture

MARKER = "prodtel_capture"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(strict=True): options of the prodtel_capture fixture; strict=False drops "
        "bad telemetry input silently, as in production, instead of raising CatalogError",
    )


@pytest.fixture
def prodtel_capture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Captured]:
    """Capture what the app would send; nothing leaves the process."""
    marker = request.node.get_closest_marker(MARKER)
    strict = bool(marker.kwargs.get("strict", True)) if marker is not None else True
    home = tmp_path / "prodtel"
    with capture(
        strict=strict, config_dir=str(home / "config"), state_dir=str(home / "state")
    ) as cap:
        yield cap
