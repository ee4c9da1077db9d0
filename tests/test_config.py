"""One precedence rule for every `init()` knob: environment > init() keyword > default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Catalog
from prodtel.config import Settings, TestHooks
from prodtel.config_params import PARAMS, POLICY_FIELDS

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
    ("endpoint", "CFGAPP_TELEMETRY_ENDPOINT", "http://env:4318/", "http://kw:4318", "logs_url",
     "http://env:4318/v1/logs", "http://kw:4318/v1/logs"),
    ("endpoint", "PRODTEL_ENDPOINT", "https://ops:4318", "http://kw:4318", "logs_url",
     "https://ops:4318/v1/logs", "http://kw:4318/v1/logs"),
    ("headers", "CFGAPP_TELEMETRY_HEADERS", "x-key=a%2Cb, x-b = 2", {"x-kw": "1"}, "headers",
     {"x-key": "a,b", "x-b": "2"}, {"x-kw": "1"}),
    ("headers", "PRODTEL_HEADERS", "x-ops=1", "x-kw=2", "headers", {"x-ops": "1"}, {"x-kw": "2"}),
    ("ca_file", "CFGAPP_TELEMETRY_CA_FILE", "/env/ca.pem", "/kw/ca.pem", "ca_file", "/env/ca.pem",
     "/kw/ca.pem"),
    ("ca_file", "PRODTEL_CA_FILE", "/ops/ca.pem", "/kw/ca.pem", "ca_file", "/ops/ca.pem",
     "/kw/ca.pem"),
    ("client_cert", "PRODTEL_CLIENT_CERT", "/env/c.pem", "/kw/c.pem", "client_cert", "/env/c.pem",
     "/kw/c.pem"),
    ("client_key", "CFGAPP_TELEMETRY_CLIENT_KEY", "/env/k.pem", "/kw/k.pem", "client_key",
     "/env/k.pem", "/kw/k.pem"),
    ("request_timeout", "PRODTEL_REQUEST_TIMEOUT", "2.5", 30.0, "request_timeout", 2.5, 30.0),
    ("log_errors", "PRODTEL_LOG_ERRORS", "1", False, "log_errors", True, False),
]  # fmt: skip
DEFAULTS = {
    "strict": False,
    "debug": False,
    "exit_timeout": 0.02,
    "environment": None,
    "sentry_dsn": None,
    "logs_url": None,
    "headers": {},
    "ca_file": None,
    "client_cert": None,
    "client_key": None,
    "request_timeout": 10.0,
    "otel_env": False,
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
    with_env = {p.name: p.env_vars("cfgapp") for p in PARAMS if p.env}
    assert with_env == {
        "endpoint": ("CFGAPP_TELEMETRY_ENDPOINT", "PRODTEL_ENDPOINT"),
        "headers": ("CFGAPP_TELEMETRY_HEADERS", "PRODTEL_HEADERS"),
        "ca_file": ("CFGAPP_TELEMETRY_CA_FILE", "PRODTEL_CA_FILE"),
        "client_cert": ("CFGAPP_TELEMETRY_CLIENT_CERT", "PRODTEL_CLIENT_CERT"),
        "client_key": ("CFGAPP_TELEMETRY_CLIENT_KEY", "PRODTEL_CLIENT_KEY"),
        "request_timeout": ("PRODTEL_REQUEST_TIMEOUT",),
        "strict": ("PRODTEL_STRICT",),
        "debug": ("PRODTEL_DEBUG",),
        "exit_timeout": ("PRODTEL_EXIT_TIMEOUT",),
        "environment": ("PRODTEL_ENVIRONMENT",),
        "sentry_dsn": ("SENTRY_DSN",),
        "log_errors": ("PRODTEL_LOG_ERRORS",),
    }
    import prodtel.config_params

    doc = prodtel.config_params.__doc__ or ""
    for p in PARAMS:
        assert f"| {p.name}" in doc, p.name
        for var in [v.replace("{APP}", "<APP>") for v in p.env] + list(p.otel):
            assert var in doc, var


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


OTEL_HOST_ENV = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318",
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20users-own",
    "OTEL_EXPORTER_OTLP_CERTIFICATE": "/users/own/ca.pem",
}


def test_the_hosts_otel_vars_do_not_redirect_product_telemetry() -> None:
    s = settings(OTEL_HOST_ENV, endpoint="https://vendor.example")
    assert s.logs_url == "https://vendor.example/v1/logs"
    assert s.sources["endpoint"] == "init()"
    assert s.headers == {} and s.ca_file is None


def test_otel_env_true_lets_the_hosts_otel_vars_count_after_the_prodtel_ones() -> None:
    s = settings(OTEL_HOST_ENV, endpoint="https://vendor.example", otel_env=True)
    assert s.logs_url == "http://jaeger:4318/v1/logs"
    assert s.sources["endpoint"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
    assert s.headers == {"authorization": "Bearer users-own"}
    assert s.ca_file == "/users/own/ca.pem"
    full = {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://jaeger:4318/custom"}
    assert settings(full, otel_env=True).logs_url == "http://jaeger:4318/custom"
    ops = {**OTEL_HOST_ENV, "PRODTEL_ENDPOINT": "http://ops:4318"}
    assert settings(ops, otel_env=True).logs_url == "http://ops:4318/v1/logs"
    app = {**ops, "CFGAPP_TELEMETRY_ENDPOINT": "http://app:4318/v1/logs"}
    s = settings(app, otel_env=True)
    assert s.logs_url == "http://app:4318/v1/logs"  # already a logs URL: kept
    assert s.sources["endpoint"] == "CFGAPP_TELEMETRY_ENDPOINT"


def test_a_bad_headers_value_is_reported_without_the_value() -> None:
    s = settings({"PRODTEL_HEADERS": "x-key=s3cret-ingest,oops"}, headers={"x-kw": "1"})
    assert s.headers == {"x-kw": "1"}
    assert any("PRODTEL_HEADERS" in p for p in s.problems)
    assert not any("s3cret" in p for p in s.problems)
    s = settings({"PRODTEL_ENDPOINT": "ftp://nope"}, endpoint="http://kw:4318")
    assert s.logs_url == "http://kw:4318/v1/logs"
    assert any("PRODTEL_ENDPOINT" in p for p in s.problems)


def test_bad_header_keywords_are_the_apps_bug_and_raise() -> None:
    with pytest.raises(ValueError, match="headers"):
        settings({}, headers={"bad name": "x"})
    with pytest.raises(ValueError, match="headers") as e:
        settings({}, headers={"x-key": "line\r\nInjected: 1"})
    assert "Injected" not in str(e.value)
