"""Crash and error reporting: exception hooks, OTel exception records, optional sentry-sdk.

(Being built: see issue 6. `install` and `capture` are the integration points used by
`prodtel.init()` and `prodtel.capture_exception()`.)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prodtel.telemetry import Telemetry


def install(t: Telemetry) -> None:
    """Hook unhandled exceptions (sys, threading, asyncio) and, with a DSN, sentry-sdk."""


def capture(t: Telemetry, error: BaseException | None, handled: bool) -> None:
    """Emit an `exception` record for `error` (scrubbed) and forward it to Sentry if set up."""
