"""The e2e tier: tests that start a real server process (the collector binary, Bugsink) carry
the `e2e` marker, so `pytest -m "not e2e"` is a fast unit tier. The marker is set at collection
(tests/conftest.py); this module lets the server harnesses refuse to start for a test that
lacks it, so a missing marker fails loudly instead of slowing the unit tier."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

# The test pytest is running now (set by tests/conftest.py); None outside pytest (bench, demo).
current: pytest.Item | None = None


def require_e2e(server: str) -> None:
    """Raise if the running test starts `server` without the e2e marker."""
    if current is not None and current.get_closest_marker("e2e") is None:
        raise RuntimeError(
            f"{current.nodeid} starts {server} but is not marked e2e: use a server fixture "
            "(tests/conftest.py SERVER_FIXTURES) or @pytest.mark.e2e"
        )
