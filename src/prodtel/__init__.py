"""prodtel: consent-first product telemetry and crash reporting, built on OpenTelemetry.

    import prodtel
    from prodtel import Attr, Catalog, Event

    CATALOG = Catalog("loadgen", [
        Event("usage_report", "One report per run.", since="0.1.0",
              attrs=[Attr("vus_max", int, "Max VUs configured.")]),
    ])

    prodtel.init(CATALOG, version="1.0.0", endpoint="https://telemetry.example.com")
    prodtel.track("usage_report", vus_max=5)

`import prodtel` is cheap and `track()` is a no-op until `init()` decides telemetry is on.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.catalog import Attr, Catalog, CatalogError, Event, Span
    from prodtel.decorators import command, event
    from prodtel.runsummary import Summary
    from prodtel.telemetry import Telemetry

__version__ = "0.1.0"
__all__ = [
    "Attr",
    "Catalog",
    "CatalogError",
    "Event",
    "Span",
    "Summary",
    "Telemetry",
    "command",
    "current",
    "event",
    "flush",
    "init",
    "set_context",
    "shutdown",
    "status",
    "summary",
    "track",
]

_telemetry: Telemetry | None = None  # the app's telemetry, also when it is off
_active: Telemetry | None = None  # the same while it can send (or strict mode); else None
_summaries: list[Summary] = []
_LAZY = {
    "Attr": "prodtel.catalog",
    "Catalog": "prodtel.catalog",
    "CatalogError": "prodtel.catalog",
    "Event": "prodtel.catalog",
    "Span": "prodtel.catalog",
    "Summary": "prodtel.runsummary",
    "Telemetry": "prodtel.telemetry",
    "command": "prodtel.decorators",
    "event": "prodtel.decorators",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prodtel' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def init(catalog: Catalog, version: str, **settings: Any) -> Telemetry:
    """Resolve consent and, if telemetry may run, start the pipeline. See `prodtel.config`
    for every setting. Calling it again replaces the previous setup."""
    global _telemetry, _active
    from prodtel.config import Settings
    from prodtel.telemetry import Telemetry

    if _telemetry is not None:
        shutdown(0)
    else:
        import atexit

        atexit.register(shutdown)
    t = Telemetry(Settings(catalog, version, **settings))
    _telemetry = t
    _active = t if (t.worker is not None or t.settings.strict) else None
    if t.settings.capture_errors and t.decision.level > 0:
        from prodtel import crash

        crash.install(t)
    return t


def track(name: str, /, **attrs: Any) -> None:
    """Record event `name` with catalog-declared attributes. Never raises in production;
    in strict mode (PRODTEL_STRICT=1) bad input raises CatalogError naming the field."""
    t = _active
    if t is not None:
        t.track(name, attrs)


def set_context(**attrs: Any) -> None:
    """Set global context attributes (declared in the catalog) that ride on every event."""
    t = _active
    if t is not None:
        t.set_context(attrs)


def summary(name: str) -> Summary:
    """A run summary: accumulate attributes, send one `name` event at the end of the run."""
    from prodtel.runsummary import Summary

    s = Summary(name)
    _summaries.append(s)
    return s


def capture_exception(error: BaseException | None = None) -> None:
    """Report a handled error (level `error` or above): an `exception` record, and a Sentry
    event when a DSN is configured. Defaults to the exception being handled."""
    t = _active
    if t is not None and t.worker is not None:
        from prodtel import crash

        crash.capture(t, error, handled=True)


def current() -> Telemetry | None:
    """The telemetry set up by `init()`, or None."""
    return _telemetry


def flush(timeout: float = 5.0) -> bool:
    """Export what is queued; True if it all left within `timeout` seconds."""
    return _telemetry.flush(timeout) if _telemetry else True


def status() -> dict[str, Any]:
    """Level, the source that decided it, every source, drops and counters."""
    return _telemetry.status() if _telemetry else {"level": "off", "decided_by": "not initialised"}


def shutdown(timeout: float | None = None) -> None:
    """Send unsent run summaries, then export within the exit budget. Runs at exit too."""
    global _active
    while _summaries:
        _summaries.pop(0).send()
    _active = None
    if _telemetry is not None:
        _telemetry.shutdown(timeout)
