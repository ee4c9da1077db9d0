"""The optional sentry-sdk integration, imported only when a Sentry DSN is set.

`before_send` is the same consent gate and scrubber as the OTel path; see `sentry_options()` for
everything that is turned off. sentry_sdk itself is imported inside the functions, never here.
"""

from __future__ import annotations

from prodtel.consent import levels
from prodtel.crash import machine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from prodtel.telemetry import Telemetry

SERVER_NAME = "prodtel"  # sentry-sdk's default is the host name
# Free-form maps in a Sentry event: their keys may carry data too, so they are scrubbed.
FREE_FORM = frozenset({"extra", "tags", "data", "headers", "cookies", "env", "contexts"})
# Machine-made fields of a Sentry event that the scrubber must leave alone.
KEEP = frozenset(
    {"event_id", "timestamp", "start_timestamp", "level", "platform", "sdk", "type", "release",
     "environment", "server_name", "dist", "fingerprint"}
)  # fmt: skip
# Fields that are dropped outright, whatever put them there.
DROP = frozenset({"user", "modules", "server_name"})


class Callbacks:
    """sentry-sdk's `before_send` and `before_breadcrumb`. They ask `current()` for the
    telemetry at each call, so a later `init()` or `uninstall()` governs a running client."""

    def __init__(self, current: Callable[[], Telemetry | None], started_at: float) -> None:
        self.current = current
        self.started_at = started_at  # the process start where the platform does not say

    def before_send(self, event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        t = self.current()
        if not allowed(t, event) or t is None:
            return None
        event["contexts"] = {
            **(event.get("contexts") or {}),
            **machine.contexts(t, self.started_at),
        }
        return scrub_event(t.scrubber, event)

    def before_breadcrumb(
        self, crumb: dict[str, Any], hint: dict[str, Any]
    ) -> dict[str, Any] | None:
        t = self.current()
        if t is None or t.decision.level == levels.OFF:
            return None
        out = _walk(t.scrubber, crumb, False)
        return out  # type: ignore[no-any-return]


def start(t: Telemetry, callbacks: Callbacks, transport: Any = None) -> Any:
    """Set up sentry-sdk for `t` and return its client, or None with the reason in
    `t.decision.problems` (sentry-sdk missing, a malformed DSN). `transport`: tests' stand-in
    for HTTP."""
    try:
        import sentry_sdk
    except ImportError:
        t.decision.problems.append(
            "a Sentry DSN is set but sentry-sdk is not installed: crash reports go to the "
            "OTLP endpoint only (install prodtel[sentry])"
        )
        return None
    try:
        opts = sentry_options(t, callbacks)
        opts["transport"] = transport or _spool_transport(t, callbacks)
        sentry_sdk.init(**opts)
    except Exception as e:  # a malformed DSN, mostly; never print the DSN itself
        t.decision.problems.append(f"Sentry is off: {type(e).__name__}: {t.scrubber(str(e))}")
        return None
    return sentry_sdk.get_client()


def _spool_transport(t: Telemetry, callbacks: Callbacks) -> Any:
    """Events go through the spool in the state dir: what the exit budget cannot send is
    sent later by the detached uploader or the next run (see `prodtel.crash.spool`)."""
    import os

    from prodtel.crash import spool

    state_dir, url = t.state_dir, t.settings.logs_url or ""

    def allows(fatal: bool) -> bool:  # the live decision, as before_send asks it
        now = callbacks.current()
        sev = levels.FATAL_SEVERITY if fatal else levels.ERROR_SEVERITY
        return now is not None and not now.decision.local and now.decision.allows(sev)

    def spawn_uploader() -> None:
        if not os.environ.get("PRODTEL_UPLOADER"):
            from prodtel.delivery import upload

            upload.spawn(state_dir, url)

    return spool.transport(state_dir, t.settings.sentry_dsn or "", allows, spawn_uploader)


def stop(client: Any, timeout: float) -> None:
    if client is not None:
        client.close(timeout=timeout)  # no callback: no "Press Ctrl-C" message


def send(client: Any, e: BaseException, handled: bool, mechanism: str) -> None:
    """Send `e` as a Sentry event (level fatal, or error when handled) through `client`."""
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    event, hint = event_from_exception(
        e, client_options=client.options, mechanism={"type": mechanism, "handled": handled}
    )
    event["level"] = "error" if handled else "fatal"
    sentry_sdk.capture_event(event, hint=hint)


def sentry_options(t: Telemetry, callbacks: Callbacks | None = None) -> dict[str, Any]:
    """Options for `sentry_sdk.init()`: consent gate and scrubber in `before_send`, no host
    name, no local variables, no PII, no sessions, tracing, logs or metrics, no default
    integrations (argv, modules, stdlib breadcrumbs, the excepthook and atexit ones), only
    log breadcrumbs and dedup. Filtered to the options the installed sentry-sdk knows.
    Without `callbacks` the gate follows `t` alone."""
    import logging
    import time

    from sentry_sdk.consts import DEFAULT_OPTIONS
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    if callbacks is None:
        callbacks = Callbacks(lambda: t, time.time())
    s = t.settings
    # The app's version and environment are free text (a build path, a laptop's name) and ride
    # in every event and envelope header, which before_send never sees: scrubbed here.
    scrub = t.scrubber
    opts: dict[str, Any] = {
        "dsn": s.sentry_dsn,
        "release": f"{s.app}@{scrub(s.version)}",
        "environment": scrub(s.environment) if s.environment else "production",
        "server_name": SERVER_NAME,
        "include_local_variables": False,
        "include_source_context": True,
        "default_integrations": False,
        "auto_enabling_integrations": False,
        "integrations": [
            DedupeIntegration(),
            LoggingIntegration(
                level=logging.INFO, event_level=logging.ERROR if s.log_errors else None
            ),
        ],
        "before_send": callbacks.before_send,
        "before_breadcrumb": callbacks.before_breadcrumb,
        "before_send_transaction": _drop,
        "before_send_log": _drop,
        "before_send_metric": _drop,
        "traces_sample_rate": None,
        "profiles_sample_rate": None,
        "auto_session_tracking": False,
        "send_client_reports": False,
        "attach_stacktrace": False,
        "shutdown_timeout": s.exit_timeout,
        "spotlight": False,
        "enable_logs": False,
        "debug": False,
    }
    if "data_collection" not in DEFAULT_OPTIONS:
        # Older 2.x. Newer ones deprecate the option; leaving it unset means False there.
        opts["send_default_pii"] = False
    return {k: v for k, v in opts.items() if k in DEFAULT_OPTIONS}


def _drop(item: Any, hint: Any) -> None:
    return None


def is_unhandled(event: dict[str, Any]) -> bool:
    values = (event.get("exception") or {}).get("values") or []
    return any((v.get("mechanism") or {}).get("handled") is False for v in values)


def allowed(t: Telemetry | None, event: dict[str, Any]) -> bool:
    """The consent gate for a Sentry event, from the live decision: `crash` lets unhandled
    exceptions through, `error` also handled ones and messages, `off` nothing."""
    if t is None or t.worker is None:
        return False
    sev = levels.FATAL_SEVERITY if is_unhandled(event) else levels.ERROR_SEVERITY
    return not t.decision.local and t.decision.allows(sev)


def scrub_event(scrubber: Callable[[str], str], event: dict[str, Any]) -> dict[str, Any]:
    """Every string of a Sentry event through the scrubber (messages, exception values, frame
    paths and source lines, breadcrumbs, extra, request, tags, contexts); user, modules and
    local variables dropped; the server name fixed."""
    out: dict[str, Any] = {}
    for k, v in event.items():
        if k in DROP:
            continue
        out[k] = v if k in KEEP else _walk(scrubber, v, k in FREE_FORM)
    out["server_name"] = SERVER_NAME
    extra = out.get("extra")
    if isinstance(extra, dict):
        extra.pop("sys.argv", None)
    return out


def _walk(scrub: Callable[[str], str], v: Any, keys: bool) -> Any:
    if isinstance(v, str):
        return scrub(v)
    if isinstance(v, dict):
        return {
            (scrub(k) if keys and isinstance(k, str) else k): _walk(scrub, x, k in FREE_FORM)
            for k, x in v.items()
            if k != "vars"  # local variables: off in the options, dropped here in any case
        }
    if isinstance(v, list | tuple):
        return [_walk(scrub, x, keys) for x in v]
    return v
