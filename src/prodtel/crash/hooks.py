"""The exception hooks: sys, threading and asyncio, installed by `prodtel.init()`, and the exit
flush that bounds Sentry and prodtel together. All they share lives in `reporter`."""

from __future__ import annotations

import sys
import threading
import time
import weakref

from prodtel.consent import levels
from prodtel.crash import native, record, sentry

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from types import TracebackType
    from typing import Any

    from prodtel.telemetry import Telemetry

NOT_REPORTED = (KeyboardInterrupt, SystemExit, GeneratorExit)  # not crashes


class _Reporter:
    """What the hooks share. `install()` and `uninstall()` own it; the hooks read it, the crash
    flush sets `exit_deadline`, tests (and `prodtel.testing.capture`) set `transport_override`."""

    def __init__(self) -> None:
        self.t: Telemetry | None = None  # where the hooks report; None: not installed
        self.sentry: Any = None  # the sentry-sdk client we configured, or None
        self.previous: dict[str, Any] = {}  # hooks we chained onto, restored by uninstall()
        self.started_at = time.time()  # the process start where the platform does not say
        self.exit_deadline: float | None = None  # set by a crash flush: the exit shares it
        self.watched: weakref.WeakSet[Any] = weakref.WeakSet()  # loops watch_loop() hooked
        self.transport_override: Any = None  # tests: a sentry-sdk transport instead of HTTP

    def current(self) -> Telemetry | None:
        return self.t


reporter = _Reporter()


# -- the public entry points ------------------------------------------------------------------
def install(t: Telemetry) -> None:
    """Hook unhandled exceptions (sys, threading, asyncio) and, with a DSN, sentry-sdk.
    Calling it again re-targets the hooks to `t`; they are chained only once."""
    r = reporter
    r.t = t
    if "sys" not in r.previous:
        import atexit

        atexit.register(native.stop)  # before _at_exit, so it runs after it (LIFO)
        r.previous["sys"] = sys.excepthook
        sys.excepthook = _excepthook
        r.previous["threading"] = threading.excepthook
        threading.excepthook = _threading_hook
        atexit.register(_at_exit)
    if t.decision.allows(levels.FATAL_SEVERITY):
        native.start(t)
    if t.settings.log_errors:
        from prodtel.crash import logs  # imports logging: only when asked for

        logs.install(r.current)
    else:
        _uninstall_logs()
    if "asyncio" in sys.modules:  # never import asyncio just to look for a loop
        try:
            watch_loop()
        except RuntimeError:  # no running loop: call watch_loop() from inside it
            pass
    if t.settings.sentry_dsn and not t.decision.local:  # `local` uploads nothing, not to Sentry
        _stop_sentry(t.settings.exit_timeout)
        callbacks = sentry.Callbacks(r.current, r.started_at)
        r.sentry = sentry.start(t, callbacks, r.transport_override)


def _uninstall_logs() -> None:
    logs = sys.modules.get("prodtel.crash.logs")
    if logs is not None:  # never imported: nothing installed
        logs.uninstall()


def uninstall() -> None:
    """Restore the previous hooks and close the Sentry client (tests, re-configuration)."""
    r = reporter
    if "sys" in r.previous:
        # Put back what we chained onto, unless someone has hooked in after us since.
        prev_sys, prev_thr = r.previous.pop("sys"), r.previous.pop("threading")
        if sys.excepthook is _excepthook:
            sys.excepthook = prev_sys
        if threading.excepthook is _threading_hook:
            threading.excepthook = prev_thr
        import atexit

        atexit.unregister(_at_exit)
        atexit.unregister(native.stop)
    native.stop()
    _uninstall_logs()
    _stop_sentry(0.0)
    r.t = None
    r.exit_deadline = None


def capture(t: Telemetry, error: BaseException | None, handled: bool) -> None:
    """Emit an `exception` record for `error` (scrubbed) and forward it to Sentry if set up.
    `error` defaults to the exception being handled. Never raises."""
    if error is None:
        error = sys.exc_info()[1]
    if error is None:
        return
    _report(t, error, handled, "prodtel" if handled else "prodtel.unhandled")


def watch_loop(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Report exceptions that reach an asyncio loop's exception handler (a task's exception
    never retrieved, a failing callback), then chain to the handler set before. Default: the
    running loop. `init()` does this itself when it runs inside the loop; a loop started after
    `init()` (e.g. by `asyncio.run()`) needs this call from inside it. An exception that escapes
    `asyncio.run()` reaches `sys.excepthook` and needs nothing."""
    import asyncio

    loop = loop or asyncio.get_running_loop()
    if loop in reporter.watched:
        return
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        e = context.get("exception")
        t = reporter.t
        try:
            if t is not None and isinstance(e, BaseException) and not _skip(e):
                _report(t, e, False, "asyncio")
                t.flush(0)  # wake the exporter; never block the loop
        except Exception:
            pass
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)
    reporter.watched.add(loop)


def _report(t: Telemetry, e: BaseException, handled: bool, mechanism: str) -> None:
    severity = levels.ERROR_SEVERITY if handled else levels.FATAL_SEVERITY
    if not t.decision.allows(severity):
        return  # not even built: the level does not let it leave (before_send would agree)
    try:
        if t.worker is not None:
            attrs = record.attributes(t, e, handled)
            if attrs is not None:
                t.track(record.EXCEPTION_EVENT, attrs, severity)
    except Exception:
        t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1
    client = reporter.sentry
    if client is not None:
        try:
            sentry.send(client, e, handled, mechanism)
        except Exception:
            t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1


def _skip(e: BaseException) -> bool:
    return isinstance(e, NOT_REPORTED)


# -- hooks ------------------------------------------------------------------------------------
def _excepthook(tp: type[BaseException], e: BaseException, tb: TracebackType | None) -> None:
    t = reporter.t
    # An interactive session survives its exceptions: those are typos, not crashes.
    reported = t is not None and not _skip(e) and not hasattr(sys, "ps1")
    if reported and t is not None:
        try:
            _report(t, e, False, "excepthook")
        except Exception:
            reported = False
    try:
        reporter.previous.get("sys", sys.__excepthook__)(tp, e, tb)
    finally:
        if reported and t is not None:
            _flush_all(t, t.settings.exit_timeout)  # the process is about to die


def _threading_hook(args: threading.ExceptHookArgs) -> None:
    t, e = reporter.t, args.exc_value
    if t is not None and e is not None and not _skip(e):
        try:
            _report(t, e, False, "threading")
            t.flush(0)  # wake the exporter; the process lives on
        except Exception:
            pass
    reporter.previous.get("threading", threading.__excepthook__)(args)


def _flush_all(t: Telemetry, timeout: float) -> None:
    """Flush the OTLP exporter and Sentry side by side, within one budget. The exit that
    follows a crash gets only what is left of it (see `_at_exit`)."""
    deadline = time.monotonic() + timeout
    reporter.exit_deadline = deadline
    client = reporter.sentry
    th = None
    if client is not None:
        th = threading.Thread(target=client.flush, kwargs={"timeout": timeout}, daemon=True)
        th.start()
    try:
        t.flush(timeout)
    finally:
        if th is not None:
            th.join(max(0.0, deadline - time.monotonic()))


def _at_exit() -> None:
    """One exit budget for everything: close Sentry in parallel with prodtel's own shutdown,
    and after a crash give both only what the crash flush left of the budget. (sentry-sdk's
    AtexitIntegration, with its 2 s wait and "Press Ctrl-C" message, is off.)"""
    r = reporter
    t, exit_deadline = r.t, r.exit_deadline
    if t is None or (r.sentry is None and exit_deadline is None):
        return  # nothing of ours to bound: prodtel's own atexit hook does the rest
    now = time.monotonic()
    deadline = exit_deadline if exit_deadline is not None else now + t.settings.exit_timeout
    left = max(0.0, deadline - now)
    th = threading.Thread(target=_stop_sentry, args=(left,), daemon=True)
    th.start()
    try:
        import prodtel

        if prodtel.current() is t:
            prodtel.shutdown(left)  # runs once more from init()'s atexit hook: then a no-op
        else:
            t.shutdown(left)
    finally:
        th.join(max(0.0, deadline - time.monotonic()))


def _stop_sentry(timeout: float) -> None:
    client, reporter.sentry = reporter.sentry, None
    sentry.stop(client, timeout)
