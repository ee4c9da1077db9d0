"""Settings for `prodtel.init()`: one table, each knob's kwarg and env var, resolved in one place.

| kwarg        | env var                                              | default               |
|--------------|------------------------------------------------------|-----------------------|
| endpoint     | OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (full URL), or      | none: nothing is sent |
|              | OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/logs)             |                       |
| policy       | -                                                    | "opt-out"             |
| level_env    | -                                                    | "<APP>_TELEMETRY"     |
| opt_out_envs | -                                                    | ("<APP>_NO_TELEMETRY",) |
| cli_opt_out  | - (the app passes its parsed flag)                   | False                 |
| ci           | - ("tag": resource `prodtel.ci` names the CI system) | "send", "suppress", "tag" |
| strict       | PRODTEL_STRICT=1                                     | False                 |
| debug        | PRODTEL_DEBUG=1 (print records on stderr, send none) | False                 |
| config_dir   | - (XDG_CONFIG_HOME is honoured via platformdirs)     | platformdirs config   |
| state_dir    | - (sent log, outbox; XDG_STATE_HOME is honoured)     | platformdirs state    |
| exit_timeout | PRODTEL_EXIT_TIMEOUT (seconds): the last send at exit | 0.02                 |
| environment  | PRODTEL_ENVIRONMENT                                  | none                  |
| on_disable   | - ("send_pending": what was recorded before still goes; | "send_pending"     |
|              |    "purge": it is dropped)                           |                       |
| disable_event | - (send TelemetryDisabled as the last record)       | True                  |
| sentry_dsn   | SENTRY_DSN (needs the `sentry` extra)                | none                  |
| capture_errors | - (crash hooks + `capture_exception`)              | True                  |
"""

from __future__ import annotations

import os

from prodtel.consent import levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from prodtel.catalog import Catalog


class Settings:
    """Everything `init()` was told, with env overrides applied. Immutable by convention."""

    def __init__(
        self,
        catalog: Catalog,
        version: str,
        *,
        endpoint: str | None = None,
        policy: str = "opt-out",
        level_env: str | None = None,
        opt_out_envs: Iterable[str] | None = None,
        command: str | None = None,
        cli_flag: str = "--no-usage-report",
        cli_opt_out: bool = False,
        ci: str = "send",
        strict: bool | None = None,
        debug: bool | None = None,
        config_dir: str | None = None,
        state_dir: str | None = None,
        exit_timeout: float | None = None,
        environment: str | None = None,
        show_notice: bool = True,
        on_disable: str = "send_pending",
        disable_event: bool = True,
        sentry_dsn: str | None = None,
        capture_errors: bool = True,
        clock: Callable[[], int] | None = None,
        installation_id: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if policy not in ("opt-out", "opt-in"):
            raise ValueError(f"policy must be 'opt-out' or 'opt-in', not {policy!r}")
        if ci not in ("send", "suppress", "tag"):
            raise ValueError(f"ci must be 'send', 'suppress' or 'tag', not {ci!r}")
        prefix = _env_prefix(catalog.app)
        self.catalog = catalog
        self.app = catalog.app
        self.version = version
        self.policy = policy
        self.level_env = level_env or f"{prefix}_TELEMETRY"
        self.opt_out_envs = tuple(opt_out_envs or (f"{prefix}_NO_TELEMETRY",))
        self.command = command or catalog.app
        self.cli_flag = cli_flag
        self.cli_opt_out = cli_opt_out
        self.ci = ci
        self.strict = levels.truthy(env.get("PRODTEL_STRICT")) if strict is None else strict
        self.debug = levels.truthy(env.get("PRODTEL_DEBUG")) if debug is None else debug
        self.config_dir = config_dir
        self.state_dir = state_dir
        self.exit_timeout = (
            float(env.get("PRODTEL_EXIT_TIMEOUT", "0.02")) if exit_timeout is None else exit_timeout
        )
        self.environment = environment or env.get("PRODTEL_ENVIRONMENT")
        if on_disable not in ("send_pending", "purge"):
            raise ValueError(f"on_disable must be 'send_pending' or 'purge', not {on_disable!r}")
        self.show_notice = show_notice
        self.on_disable = on_disable
        self.disable_event = disable_event
        self.sentry_dsn = sentry_dsn or env.get("SENTRY_DSN")
        self.capture_errors = capture_errors
        self.clock = clock
        self.installation_id = installation_id
        self.logs_url = logs_url(endpoint, env)


def logs_url(endpoint: str | None, env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP logs URL: the standard env vars win over the app's configured endpoint."""
    if env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or endpoint
    if not base:
        return None
    return base.rstrip("/") + "/v1/logs"


def _env_prefix(app: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in app).upper()
