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
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from prodtel.catalog import Attr, Catalog, CatalogError, Event, Span
    from prodtel.config import TestHooks
    from prodtel.decorators import command, event
    from prodtel.policy import Policy
    from prodtel.runsummary import Summary
    from prodtel.telemetry import Telemetry

__version__ = "0.1.0"
__all__ = [
    "Attr",
    "Catalog",
    "CatalogError",
    "Event",
    "Policy",
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
_hooked: Telemetry | None = None  # the telemetry whose exit and crash hooks are installed
_summaries: list[Summary] = []
_LAZY = {
    "Attr": "prodtel.catalog",
    "Catalog": "prodtel.catalog",
    "CatalogError": "prodtel.catalog",
    "Event": "prodtel.catalog",
    "Policy": "prodtel.policy",
    "Span": "prodtel.catalog",
    "Summary": "prodtel.runsummary",
    "Telemetry": "prodtel.telemetry",
    "command": "prodtel.decorators",
    "event": "prodtel.decorators",
}


def __getattr__(name: str) -> Any:
    if name == "otel":  # `prodtel.otel.tracer_provider()` without importing the submodule
        import importlib

        return importlib.import_module("prodtel.otel")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prodtel' has no attribute {name!r}")
    import sys  # not importlib: that imports warnings too, on every start

    __import__(module)
    return getattr(sys.modules[module], name)


def init(
    catalog: Catalog,
    version: str,
    *,
    endpoint: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    request_timeout: float | None = None,
    otel_env: bool | None = None,
    cli_opt_out: bool | None = None,
    strict: bool | None = None,
    debug: bool | None = None,
    exit_timeout: float | None = None,
    environment: str | None = None,
    sentry_dsn: str | None = None,
    capture_errors: bool | None = None,
    log_errors: bool | None = None,
    on_disable: str | None = None,
    disable_event: bool | None = None,
    config_dir: str | None = None,
    state_dir: str | None = None,
    scrub_extra: Iterable[tuple[str, str]] | None = None,
    scrub_callback: Callable[[str], str] | None = None,
    policy: str | None = None,
    level_env: str | None = None,
    opt_out_envs: Iterable[str] | None = None,
    command: str | None = None,
    cli_flag: str | None = None,
    ci: str | None = None,
    agent: str | None = None,
    show_notice: bool | None = None,
    notice: str | None = None,
    test_hooks: TestHooks | None = None,
    **deprecated: Any,
) -> Telemetry:
    """Resolve consent and, if telemetry may run, start the pipeline. Calling it again replaces
    the previous setup. None means "not given". A set env var beats the keyword, the keyword
    beats the default (docs/settings.md, generated from this docstring and `config_params.PARAMS`).

    Args:
        catalog: the app's events and its consent `Policy` (`Catalog(..., policy=Policy(...))`).
        version: the app's version (resource `service.version`).
        endpoint: the collector's OTLP/HTTP base URL; without one nothing is sent.
        headers: extra request headers, e.g. an ingest key ({"x-key": "..."} or "k=v,k2=v2").
        ca_file: a CA bundle (PEM) that signs the collector's TLS certificate.
        client_cert: a client certificate (PEM) for mutual TLS.
        client_key: the client certificate's private key (PEM), if not in `client_cert`.
        request_timeout: seconds one request may take off the exit path.
        otel_env: also honour the host's OTEL_EXPORTER_OTLP_* variables (after prodtel's own).
        cli_opt_out: True when the user passed the app's opt-out flag (`Policy.cli_flag`).
        strict: raise CatalogError on bad `track()` input instead of dropping it (tests).
        debug: print each record on stderr instead of sending it, and say why nothing is sent.
        exit_timeout: seconds the last send at exit may take; the rest waits in the outbox.
        environment: resource `deployment.environment.name` (e.g. "production").
        sentry_dsn: also send crash and error reports to this Sentry DSN (`sentry` extra).
        capture_errors: install the crash hooks and enable `capture_exception()`.
        log_errors: turn ERROR/CRITICAL log records into error reports (level `error`).
        on_disable: what `telemetry disable` does with records not sent yet: "send_pending"
            or "purge".
        disable_event: send TelemetryDisabled as the last record when the user disables.
        config_dir: where the consent file lives (default: the platformdirs config dir).
        state_dir: where the outbox and sent log live (default: the platformdirs state dir).
        scrub_extra: the app's own (regex, replacement) scrub rules, after the built-in ones.
        scrub_callback: a str -> str function run last on every scrubbed string.
        policy: overrides `Policy.default` ("opt-out" or "opt-in"); for tests.
        level_env: overrides `Policy.level_env`, the level env var; for tests.
        opt_out_envs: more opt-out env vars, added to `Policy.opt_out_envs`; for tests.
        command: overrides `Policy.command`, the program name users type; for tests.
        cli_flag: overrides `Policy.cli_flag`, the opt-out flag named in the notice; for tests.
        ci: overrides `Policy.ci` ("send", "suppress" or "tag"); for tests.
        agent: overrides `Policy.agent` ("send", "suppress" or "tag"); for tests.
        show_notice: False never shows the first-run notice (`Policy(notice="never")`); for tests.
        notice: overrides `Policy.notice`: "tty" (the notice only on a terminal) or "always".
        test_hooks: `prodtel.testing.TestHooks(clock=..., installation_id=..., environ=...)`.
    """
    given = {k: v for k, v in locals().items() if k not in ("catalog", "version", "deprecated")}
    settings: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    settings.update(deprecated)  # the old clock=/installation_id=/environ= keywords (warned)
    global _telemetry, _active
    from prodtel.config import Settings
    from prodtel.telemetry import Telemetry

    if _telemetry is not None:
        _telemetry.notice_due = False  # the new setup decides about the notice
        shutdown(0)
    else:
        import atexit

        atexit.register(shutdown)
    t = Telemetry(Settings(catalog, version, **settings))
    _telemetry = t
    _active = None
    t.on_start = _activate  # the user may turn it on later, in this process
    _activate(t)
    return t


def _activate(t: Telemetry) -> None:
    """Route track() to `t` when it records (or checks, in strict mode), and install its exit
    and crash hooks once it records: at init(), or when an app's UI enables it later."""
    global _active, _hooked
    if t is not _telemetry:
        return
    if t.worker is not None or t.settings.strict:
        _active = t
    if t.worker is None or _hooked is t:
        return
    _hooked = t
    from prodtel import mpexit

    mpexit.install()  # multiprocessing children skip atexit: flush on their finalizers
    if t.settings.capture_errors:
        from prodtel import crash

        crash.install(t)


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
