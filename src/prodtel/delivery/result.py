"""How the collector answered one POST: the result every sender classifies an answer into."""

from __future__ import annotations

import enum


class ExportResult(enum.Enum):
    """How the collector answered one POST."""

    OK = "ok"  # 2xx: delivered
    RETRY = "retry"  # 429, 5xx, network error: try again later
    DROP = "drop"  # any other 4xx: poison, counted and never retried
    PENDING = "pending"  # the request left, its answer is late: not to be resent (exitplan)


def retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds only), capped at 5 minutes."""
    try:
        return min(max(float(value or 0), 0.0), 300.0)
    except ValueError:
        return 0.0
