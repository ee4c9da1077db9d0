"""Counters (drops, stats): plain `dict[str, int]`, so that `import prodtel` and an `init()`
that turns telemetry off do not pay for importing `collections` (Counter)."""

from __future__ import annotations


def count(counters: dict[str, int], key: str, n: int = 1) -> None:
    """Add `n` to `counters[key]` (a missing key counts from 0)."""
    counters[key] = counters.get(key, 0) + n
