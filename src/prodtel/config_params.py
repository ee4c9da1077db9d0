"""Settings for `prodtel.init()`: one table (`PARAMS`), each knob's `init()` keyword, env vars
and default, resolved by one rule.

Precedence, the same for every knob:

    environment (the end user, the operator)  >  init() keyword (the app author)  >  default

The person running the program has the last word over what the app ships with: a set env var
overrides the keyword even when the keyword is given. Env vars are read in the order listed; an
empty one counts as unset; one that does not parse is ignored (the next source applies) and
named in `status()["problems"]`, so a typo never stops the app. A keyword of None counts as not
given. Consent itself is not a knob here: it has its own, stricter rule (consent/resolve.py).
`<APP>` is the app name in upper case, other characters as `_` (app "my-tool": MY_TOOL).

The host's OTel vars count only with `otel_env=True`, after the ones above (prodtel.endpoint
says why): OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (a full URL) and OTEL_EXPORTER_OTLP_ENDPOINT for
endpoint; OTEL_EXPORTER_OTLP_LOGS_HEADERS, OTEL_EXPORTER_OTLP_HEADERS for headers;
OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE, OTEL_EXPORTER_OTLP_CERTIFICATE for ca_file;
OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE for
client_cert; OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY, OTEL_EXPORTER_OTLP_CLIENT_KEY for client_key.
Proxies (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) are read as every HTTP client does
(prodtel.delivery.proxy).

| keyword        | env vars (first set wins)                         | default                   |
|----------------|---------------------------------------------------|---------------------------|
| endpoint       | <APP>_TELEMETRY_ENDPOINT, PRODTEL_ENDPOINT         | none: nothing is sent     |
|                | (base URLs: + /v1/logs)                           |                           |
| headers        | <APP>_TELEMETRY_HEADERS, PRODTEL_HEADERS           | none                      |
|                | ("k=v,k2=v2", values URL-decoded)                 |                           |
| ca_file        | <APP>_TELEMETRY_CA_FILE, PRODTEL_CA_FILE           | system CAs (SSL_CERT_FILE |
|                |                                                   | is honoured)              |
| client_cert    | <APP>_TELEMETRY_CLIENT_CERT, PRODTEL_CLIENT_CERT   | none                      |
| client_key     | <APP>_TELEMETRY_CLIENT_KEY, PRODTEL_CLIENT_KEY     | none (key in client_cert) |
| request_timeout| PRODTEL_REQUEST_TIMEOUT (seconds, off exit path)  | 10.0                      |
| otel_env       | - (True: the host's OTel vars above also count)   | False                     |
| strict         | PRODTEL_STRICT (1/0, true/false, yes/no, on/off)  | False                     |
| debug          | PRODTEL_DEBUG (print records on stderr, send none) | False                    |
| exit_timeout   | PRODTEL_EXIT_TIMEOUT (seconds for the last send)  | 0.02                      |
| environment    | PRODTEL_ENVIRONMENT                               | none                      |
| sentry_dsn     | SENTRY_DSN (needs the `sentry` extra)             | none                      |
| policy         | -  ("opt-out" or "opt-in")                        | "opt-out"                 |
| level_env      | -                                                 | "<APP>_TELEMETRY"         |
| opt_out_envs   | -                                                 | ("<APP>_NO_TELEMETRY",)   |
| command        | - (the program name the notice shows)             | the app name              |
| cli_flag       | - (the opt-out flag the notice names)             | "--no-usage-report"       |
| cli_opt_out    | - (the app passes its parsed flag)                | False                     |
| ci             | - ("send", "suppress", "tag": resource `prodtel.ci`) | "send"                 |
| agent          | - ("send", "suppress", "tag": resource            | "send"                    |
|                |   `prodtel.agent`; runs driven by an AI agent)    |                           |
| config_dir     | - (XDG_CONFIG_HOME is honoured via platformdirs)  | platformdirs config dir   |
| state_dir      | - (sent log, outbox; XDG_STATE_HOME is honoured)  | platformdirs state dir    |
| show_notice    | -                                                 | True                      |
| notice         | - ("tty": only on a terminal; "always": on stderr | "tty"                     |
|                |   even without one, the way .NET and Next.js do)  |                           |
| on_disable     | - ("send_pending" or "purge" what was recorded)   | "send_pending"            |
| disable_event  | - (send TelemetryDisabled as the last record)     | True                      |
| capture_errors | - (crash hooks + `capture_exception`)             | True                      |
| log_errors     | PRODTEL_LOG_ERRORS (logging.error -> error reports) | False                   |
| scrub_extra    | - ((regex, replacement) pairs after the built-ins) | ()                       |
| scrub_callback | - (str -> str, runs last on scrubbed text)        | none                      |
| test_hooks     | - (`TestHooks`: clock, installation id, environ)  | none                      |
"""

from __future__ import annotations

from prodtel.consent import levels
from prodtel.policy import env_prefix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

LOGS_ENDPOINT = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"  # a full URL; the others are base URLs
APP = "{APP}"  # in env var names: the app's env prefix
FALSY = frozenset({"0", "false", "no", "off", "n"})


def _flag(value: str) -> bool:
    if levels.truthy(value):
        return True
    if value.strip().lower() in FALSY:
        return False
    raise ValueError("use 1/0, true/false, yes/no or on/off")


def _seconds(value: str) -> float:
    try:
        s = float(value)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if not s >= 0:  # also rejects nan
        raise ValueError("not a number of seconds")
    return s


def _text(value: str) -> str:
    return value.strip()


def _positive_seconds(value: str) -> float:
    s = _seconds(value)
    if s <= 0:
        raise ValueError("not a positive number of seconds")
    return s


def _url(value: str) -> str:
    from prodtel.endpoint import parse_url

    return parse_url(value)


def _headers(value: str) -> dict[str, str]:
    from prodtel.endpoint import parse_headers

    return parse_headers(value)


def _otel(suffix: str) -> tuple[str, ...]:
    return (f"OTEL_EXPORTER_OTLP_LOGS_{suffix}", f"OTEL_EXPORTER_OTLP_{suffix}")


class ParamSpec:
    """One knob: its `init()` keyword (also the `Settings` attribute), the env vars that
    override it in order (`{APP}` stands for the app's env prefix), the host's OTel vars
    consulted after them only with `otel_env=True`, its default, and how an env value is
    parsed (ValueError: ignored). `secret`: a bad env value is reported without the value."""

    __slots__ = ("choices", "default", "env", "name", "otel", "parse", "secret")

    def __init__(
        self,
        name: str,
        env: tuple[str, ...] = (),
        default: Any = None,
        parse: Callable[[str], Any] = _text,
        choices: tuple[str, ...] | None = None,
        otel: tuple[str, ...] = (),
        secret: bool = False,
    ) -> None:
        self.name = name
        self.env = env
        self.default = default
        self.parse = parse
        self.choices = choices
        self.otel = otel
        self.secret = secret

    def env_vars(self, app: str, otel_env: bool = False) -> tuple[str, ...]:
        """The env vars that override this knob for `app`, in order."""
        prefix = env_prefix(app)
        names = tuple(v.replace(APP, prefix) for v in self.env)
        return names + self.otel if otel_env else names

    def resolve(
        self,
        kwarg: Any,
        environ: Mapping[str, str],
        problems: list[str],
        env_vars: tuple[str, ...] | None = None,
    ) -> tuple[Any, str]:
        """(value, where it came from: the env var's name, "init()" or "default")."""
        for var in self.env if env_vars is None else env_vars:
            raw = environ.get(var)
            if not raw:
                continue
            try:
                value = self.parse(raw)
                if self.choices is not None and value not in self.choices:
                    raise ValueError(f"use {' or '.join(self.choices)}")
            except ValueError as e:
                shown = "(value not shown)" if self.secret else f"={raw!r}"
                problems.append(f"ignoring {var}{shown}: {e}")
                continue
            return value, var
        if kwarg is not None:
            if self.choices is not None and kwarg not in self.choices:
                names = ", ".join(repr(c) for c in self.choices)
                raise ValueError(f"{self.name} must be one of {names}, not {kwarg!r}")
            return kwarg, "init()"
        return self.default, "default"


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "endpoint",
        (f"{APP}_TELEMETRY_ENDPOINT", "PRODTEL_ENDPOINT"),
        None,
        _url,
        otel=(LOGS_ENDPOINT, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ),
    ParamSpec(
        "headers",
        (f"{APP}_TELEMETRY_HEADERS", "PRODTEL_HEADERS"),
        None,
        _headers,
        otel=_otel("HEADERS"),
        secret=True,
    ),
    ParamSpec(
        "ca_file", (f"{APP}_TELEMETRY_CA_FILE", "PRODTEL_CA_FILE"), otel=_otel("CERTIFICATE")
    ),
    ParamSpec(
        "client_cert",
        (f"{APP}_TELEMETRY_CLIENT_CERT", "PRODTEL_CLIENT_CERT"),
        otel=_otel("CLIENT_CERTIFICATE"),
    ),
    ParamSpec(
        "client_key",
        (f"{APP}_TELEMETRY_CLIENT_KEY", "PRODTEL_CLIENT_KEY"),
        otel=_otel("CLIENT_KEY"),
    ),
    ParamSpec("request_timeout", ("PRODTEL_REQUEST_TIMEOUT",), 10.0, _positive_seconds),
    ParamSpec("otel_env", default=False),
    ParamSpec("strict", ("PRODTEL_STRICT",), False, _flag),
    ParamSpec("debug", ("PRODTEL_DEBUG",), False, _flag),
    ParamSpec("exit_timeout", ("PRODTEL_EXIT_TIMEOUT",), 0.02, _seconds),
    ParamSpec("environment", ("PRODTEL_ENVIRONMENT",)),
    ParamSpec("sentry_dsn", ("SENTRY_DSN",)),
    ParamSpec("policy", default="opt-out", choices=("opt-out", "opt-in")),
    ParamSpec("level_env"),
    ParamSpec("opt_out_envs"),
    ParamSpec("command"),
    ParamSpec("cli_flag", default="--no-usage-report"),
    ParamSpec("cli_opt_out", default=False),
    ParamSpec("ci", default="send", choices=("send", "suppress", "tag")),
    ParamSpec("agent", default="send", choices=("send", "suppress", "tag")),
    ParamSpec("config_dir"),
    ParamSpec("state_dir"),
    ParamSpec("show_notice", default=True),
    ParamSpec("notice", default="tty", choices=("tty", "always")),
    ParamSpec("on_disable", default="send_pending", choices=("send_pending", "purge")),
    ParamSpec("disable_event", default=True),
    ParamSpec("capture_errors", default=True),
    ParamSpec("log_errors", ("PRODTEL_LOG_ERRORS",), False, _flag),
    ParamSpec("scrub_extra", default=()),
    ParamSpec("scrub_callback"),
    ParamSpec("test_hooks"),
)
_NAMES = frozenset(p.name for p in PARAMS)
# Set by `prodtel.testing.capture()` for the test it runs: values that win over every source
# (a private config and state dir, strict mode), reported in `sources` as "test".
test_overrides: dict[str, Any] = {}
# init() keyword -> the `Policy` field that supplies it when the keyword is not given.
POLICY_FIELDS = {
    "policy": "default",
    "level_env": "level_env",
    "opt_out_envs": "opt_out_envs",
    "command": "command",
    "cli_flag": "cli_flag",
    "ci": "ci",
    "agent": "agent",
    "show_notice": "notice",  # "never" -> False
    "notice": "notice",  # "never" -> "tty" (not shown anyway)
}
