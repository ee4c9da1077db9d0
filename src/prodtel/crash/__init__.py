"""Crash and error reporting: exception hooks, OTel `exception` records, optional sentry-sdk.

`install(t)` (called by `prodtel.init()`) chains onto `sys.excepthook`, `threading.excepthook`
and, when `init()` runs inside an event loop, that loop's exception handler (see `watch_loop`).
An unhandled exception becomes an `exception` record (severity FATAL, needs level `crash`);
`capture(t, e, handled=True)` (`prodtel.capture_exception()`) makes one with severity ERROR
(needs level `error`). Both are scrubbed and cut to the catalog's limits before `track()`, so
strict mode never raises inside a hook.

With a Sentry DSN (`init(sentry_dsn=...)` or SENTRY_DSN) the same exceptions also go to a
Sentry-compatible server through sentry-sdk, imported only then. Its `before_send` is the same
consent gate and scrubber; see `prodtel.crash.sentry.sentry_options()` for what is turned off.

Modules: `hooks` (install, the hooks, the exit flush), `record` (the OTel record), `sentry`
(sentry-sdk), `machine` (machine facts for Sentry's contexts, all platform-specific calls).
"""

from prodtel.crash.hooks import capture, install, uninstall, watch_loop

__all__ = ["capture", "install", "uninstall", "watch_loop"]
