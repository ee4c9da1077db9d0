"""Settings for `prodtel.init()`: `Settings` resolves every knob of the table in
`prodtel.config_params` (its docstring states the one precedence rule and every knob; the
generated docs/settings.md is the same table for readers), and `TestHooks` groups what only
tests set."""

from __future__ import annotations

import os

from prodtel.config_params import _NAMES, LOGS_ENDPOINT, PARAMS, POLICY_FIELDS, test_overrides
from prodtel.endpoint import logs_url
from prodtel.slotted import Slotted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from prodtel.catalog import Catalog
    from prodtel.scrub import Scrubber

_OLD_HOOKS = ("clock", "installation_id", "environ")  # before TestHooks: still accepted


class TestHooks(Slotted):
    """Inputs only tests set: `init(..., test_hooks=TestHooks(clock=..., installation_id=...))`.

    clock: returns the record time in ns (default time.time_ns), for back-dated records.
    installation_id: used instead of the one stored in the consent file.
    environ: read instead of os.environ, for settings and consent alike.
    """

    __slots__ = ("clock", "environ", "installation_id")
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        clock: Callable[[], int] | None = None,
        installation_id: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.installation_id = installation_id
        self.environ = environ


class Settings:
    """Everything `init()` was told, resolved by `PARAMS` and the precedence rule; one
    attribute per knob, plus `logs_url`, `sources` (knob -> where its value came from) and
    `problems`. Immutable by convention."""

    # Typed attributes other modules read (set from PARAMS in __init__).
    endpoint: str | None
    headers: dict[str, str]
    ca_file: str | None
    client_cert: str | None
    client_key: str | None
    request_timeout: float
    otel_env: bool
    strict: bool
    debug: bool
    exit_timeout: float
    environment: str | None
    sentry_dsn: str | None
    policy: str
    level_env: str
    opt_out_envs: tuple[str, ...]
    command: str
    cli_flag: str
    cli_opt_out: bool
    ci: str
    agent: str
    config_dir: str | None
    state_dir: str | None
    show_notice: bool
    notice: str
    on_disable: str
    disable_event: bool
    capture_errors: bool
    log_errors: bool
    scrub_extra: tuple[tuple[str, str], ...]
    scrub_callback: Callable[[str], str] | None
    test_hooks: TestHooks

    def __init__(self, catalog: Catalog, version: str, **kwargs: Any) -> None:
        hooks = _hooks(kwargs)
        unknown = sorted(set(kwargs) - _NAMES)
        if unknown:
            raise TypeError(f"init() got an unexpected keyword argument {unknown[0]!r}")
        env = os.environ if hooks.environ is None else hooks.environ
        self.catalog = catalog
        self.app = catalog.app
        self.version = version
        self.environ = env
        self.clock = hooks.clock
        self.installation_id = hooks.installation_id
        self.problems: list[str] = []
        self.sources: dict[str, str] = {}
        if "headers" in kwargs:
            kwargs["headers"] = _headers_keyword(kwargs["headers"])
        self.otel_env = bool(kwargs.get("otel_env"))
        self.given_endpoint: str | None = kwargs.get("endpoint")
        for spec in PARAMS:
            value, self.sources[spec.name] = spec.resolve(
                kwargs.get(spec.name),
                env,
                self.problems,
                spec.env_vars(catalog.app, self.otel_env),
            )
            setattr(self, spec.name, value)
        for name, value in test_overrides.items():
            setattr(self, name, value)
            self.sources[name] = "test"
        self._apply_policy(catalog)
        self.scrub_extra = _scrub_rules(self.scrub_extra)
        self.headers = dict(self.headers or {})
        self.logs_url: str | None = logs_url(
            self.endpoint, self.sources["endpoint"] == LOGS_ENDPOINT
        )

    def transport_options(self) -> dict[str, Any]:
        """What the HTTP transport needs besides the URL (headers may hold an ingest key)."""
        return {
            "headers": self.headers,
            "ca_file": self.ca_file,
            "client_cert": self.client_cert,
            "client_key": self.client_key,
            "timeout": self.request_timeout,
        }

    def _apply_policy(self, catalog: Catalog) -> None:
        """Knobs not given to init() come from the catalog's Policy (the one the usage page is
        rendered from). Opt-out env vars given to init() add to the policy's, never replace
        them, so every opt-out the page names works."""
        policy = catalog.policy
        for knob, field in POLICY_FIELDS.items():
            if self.sources[knob] == "default":
                value = getattr(policy, field)
                if knob == "show_notice":
                    value = value != "never"
                elif knob == "notice" and value == "never":
                    value = "tty"
                setattr(self, knob, value)
                self.sources[knob] = "catalog policy"
        given = self.opt_out_envs
        given = (given,) if isinstance(given, str) else tuple(given)
        extra = tuple(v for v in given if v not in (policy.opt_out_envs or ()))
        self.opt_out_envs = (*(policy.opt_out_envs or ()), *extra)

    def make_scrubber(self) -> Scrubber:
        """A scrubber with the app's own rules (`scrub_extra`, `scrub_callback`)."""
        from prodtel.scrub import Scrubber

        return Scrubber(self.scrub_extra, self.scrub_callback)


def _hooks(kwargs: dict[str, Any]) -> TestHooks:
    """`test_hooks`, completed by the old separate keywords (deprecated; removed from kwargs)."""
    hooks = kwargs.pop("test_hooks", None) or TestHooks()
    old = {k: kwargs.pop(k) for k in _OLD_HOOKS if k in kwargs}
    if old:
        import warnings

        warnings.warn(
            f"init({', '.join(f'{k}=' for k in old)}) is deprecated: "
            "use init(test_hooks=prodtel.testing.TestHooks(...))",
            DeprecationWarning,
            stacklevel=4,
        )
        fields = {k: getattr(hooks, k) for k in TestHooks.__slots__}
        fields.update({k: v for k, v in old.items() if fields[k] is None})
        hooks = TestHooks(**fields)
    kwargs["test_hooks"] = hooks
    return hooks


def _headers_keyword(value: Any) -> dict[str, str] | None:
    from prodtel.endpoint import headers_keyword

    try:
        return headers_keyword(value)
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"headers: {e}") from None


def _scrub_rules(extra: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The app's (regex, replacement) pairs, checked now: a bad pattern fails in `init()`, in
    the app's code, not later on the worker thread."""
    rules = tuple((p, r) for p, r in extra)
    if rules:
        import re

        for pattern, _ in rules:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"scrub_extra: bad pattern {pattern!r}: {e}") from None
    return rules
