"""`init(log_errors=True)` (or PRODTEL_LOG_ERRORS=1): `logging.error(...)` and
`logger.exception(...)` become error reports, not only breadcrumbs. Off by default.

An ERROR or CRITICAL log record becomes an `exception` record (handled, severity ERROR, so it
needs level `error`): with `exc_info` (`logger.exception`), the exception's own type, message and
traceback; without, type `LoggedError` and the log message. The Sentry route gets the same from
sentry-sdk's logging integration (`event_level=ERROR`). prodtel's and sentry-sdk's own loggers
are ignored.
"""

from __future__ import annotations

import logging

from prodtel.consent import levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from prodtel.telemetry import Telemetry

LOGGED_TYPE = "LoggedError"
IGNORED = ("prodtel", "sentry_sdk", "urllib3")


class ErrorLogHandler(logging.Handler):
    """Turns ERROR+ log records into `exception` records of the telemetry `current()` gives."""

    def __init__(self, current: Callable[[], Telemetry | None]) -> None:
        super().__init__(logging.ERROR)
        self.current = current

    def emit(self, rec: logging.LogRecord) -> None:
        t = self.current()
        if t is None or t.worker is None or rec.name.startswith(IGNORED):
            return
        if not t.decision.allows(levels.ERROR_SEVERITY):
            return
        try:
            from prodtel.crash import record

            exc = rec.exc_info[1] if rec.exc_info else None
            if exc is not None:
                attrs = record.attributes(t, exc, handled=True)
            else:
                raw: dict[str, object] = {
                    "exception.type": LOGGED_TYPE,
                    "exception.message": rec.getMessage(),
                    "exception.handled": True,
                }
                attrs = record.clean(t, raw)
            if attrs is not None:
                t.track(record.EXCEPTION_EVENT, attrs, levels.ERROR_SEVERITY)
        except Exception:
            t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1


_handler: ErrorLogHandler | None = None


def install(current: Callable[[], Telemetry | None]) -> None:
    global _handler
    if _handler is None:
        _handler = ErrorLogHandler(current)
        logging.getLogger().addHandler(_handler)


def uninstall() -> None:
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None
