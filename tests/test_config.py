"""One precedence rule for every `init()` knob: environment > init() keyword > default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Catalog
from prodtel.config import PARAMS, POLICY_FIELDS, Settings, TestHooks

CAT = Catalog("cfgapp", [])

# knob, env var, env value, keyword value, attribute read, expected from env, from the keyword
OVERRIDABLE: list[tuple[str, str, str, Any, str, Any, Any]] = [
    ("strict", "PRODTEL_STRICT", "1", False, "strict", True, False),
    ("strict", "PRODTEL_STRICT", "0", True, "strict", False, True),
    ("debug", "PRODTEL_DEBUG", "yes", False, "debug", True, False),
    ("debug", "PRODTEL_DEBUG", "off", True, "debug", False, True),
    ("exit_timeout", "PRODTEL_EXIT_TIMEOUT", "3.5", 1.0, "exit_timeout", 3.5, 1.0),
    ("environment", "PRODTEL_ENVIRONMENT", "staging", "production", "environment", "staging",
     "production"),
    ("sentry_dsn", "SENTRY_DSN", "https://k@env.example/1", "https://k@kw.example/2",
     "sentry_dsn", "https://k@env.example/1", "https://k@kw.example/2"),
    ("endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/", "http://kw:4318", "logs_url",
     "http://env:4318/v1/logs", "http://kw:4318/v1/logs"),
    ("endpoint", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://env:4318/custom", "http://kw:4318",
     "logs_url", "http://env:4318/custom", "http://kw:4318/v1/logs"),
    ("log_errors", "PRODTEL_LOG_ERRORS", "1", False, "log_errors", True, False),
]  # fmt: skip
DEFAULTS = {
    "strict": False,
    "debug": False,
    "exit_timeout": 0.02,
    "environment": None,
    "sentry_dsn": None,
    "logs_url": None,
    "policy": "opt-out",
    "ci": "send",
    "on_disable": "send_pending",
    "show_notice": True,
    "notice": "tty",
    "disable_event": True,
    "capture_errors": True,
    "log_errors": False,
    "cli_flag": "--no-usage-report",
    "level_env": "CFGAPP_TELEMETRY",
    "opt_out_envs": ("CFGAPP_NO_TELEMETRY",),
    "command": "cfgapp",
}


def settings(env: dict[str, str], **kw: Any) -> Settings:
    return Settings(CAT, "1.0", test_hooks=TestHooks(environ=env), **kw)


@pytest.mark.parametrize(("knob", "var", "raw", "kwarg", "attr", "from_env", "from_kwarg"),
                         OVERRIDABLE)  # fmt: skip
def test_the_environment_beats_the_init_keyword(
    knob: str, var: str, raw: str, kwarg: Any, attr: str, from_env: Any, from_kwarg: Any
) -> None:
    s = settings({var: raw}, **{knob: kwarg})
    assert getattr(s, attr) == from_env
    assert s.sources[knob] == var


@pytest.mark.parametrize(("knob", "var", "raw", "kwarg", "attr", "from_env", "from_kwarg"),
                         OVERRIDABLE)  # fmt: skip
def test_the_init_keyword_beats_the_default(
    knob: str, var: str, raw: str, kwarg: Any, attr: str, from_env: Any, from_kwarg: Any
) -> None:
    s = settings({var: ""}, **{knob: kwarg})  # an empty env var counts as unset
    assert getattr(s, attr) == from_kwarg
    assert s.sources[knob] == "init()"


def test_the_default_applies_when_neither_is_set() -> None:
    s = settings({})
    assert {k: getattr(s, k) for k in DEFAULTS} == DEFAULTS
    from_policy = {k for k, v in s.sources.items() if v == "catalog policy"}
    assert from_policy == set(POLICY_FIELDS)  # the catalog's Policy supplies these
    assert {k for k, v in s.sources.items() if v not in ("default", "catalog policy")} == {
        "test_hooks"
    }


def test_the_table_lists_every_knob_once_and_env_vars_only_where_documented() -> None:
    names = [p.name for p in PARAMS]
    assert len(names) == len(set(names))
    with_env = {p.name: p.env for p in PARAMS if p.env}
    assert with_env == {
        "endpoint": ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        "strict": ("PRODTEL_STRICT",),
        "debug": ("PRODTEL_DEBUG",),
        "exit_timeout": ("PRODTEL_EXIT_TIMEOUT",),
        "environment": ("PRODTEL_ENVIRONMENT",),
        "sentry_dsn": ("SENTRY_DSN",),
        "log_errors": ("PRODTEL_LOG_ERRORS",),
    }
    import prodtel.config

    doc = prodtel.config.__doc__ or ""
    for p in PARAMS:
        assert f"| {p.name} " in doc, p.name
        for var in p.env:
            assert var in doc


def test_a_bad_env_value_is_ignored_and_reported_never_raised(tmp_path: Path) -> None:
    s = settings({"PRODTEL_EXIT_TIMEOUT": "soon", "PRODTEL_STRICT": "maybe"}, exit_timeout=1.5)
    assert s.exit_timeout == 1.5 and s.strict is False
    assert any("PRODTEL_EXIT_TIMEOUT='soon'" in p for p in s.problems)
    assert any("PRODTEL_STRICT='maybe'" in p for p in s.problems)
    env = {"PRODTEL_EXIT_TIMEOUT": "-1", "CFGAPP_TELEMETRY": "off"}
    t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ=env))
    try:
        assert any("PRODTEL_EXIT_TIMEOUT='-1'" in p for p in t.status()["problems"])
    finally:
        prodtel.shutdown(0)


def test_a_bad_keyword_is_the_apps_bug_and_raises() -> None:
    with pytest.raises(ValueError, match="policy"):
        settings({}, policy="opt-sideways")
    with pytest.raises(TypeError, match="endpiont"):
        settings({}, endpiont="http://x")


def test_test_hooks_environ_reaches_consent_too(tmp_path: Path) -> None:
    hooks = TestHooks(environ={"CFGAPP_TELEMETRY": "crash"}, installation_id="iid-1")
    t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path), test_hooks=hooks)
    try:
        assert t.status()["level"] == "crash"
        assert t.settings.installation_id == "iid-1"
    finally:
        prodtel.shutdown(0)


def test_the_old_hook_keywords_still_work_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="test_hooks"):
        s = Settings(CAT, "1.0", clock=lambda: 7, installation_id="old", environ={})
    assert s.clock is not None and s.clock() == 7
    assert s.installation_id == "old"
    assert s.test_hooks == TestHooks(clock=s.clock, installation_id="old", environ={})
