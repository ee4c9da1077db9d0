"""The consent resolution contract (ARCHITECTURE.md, "Consent semantics")."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from prodtel.catalog import Catalog
from prodtel.config import Settings, TestHooks
from prodtel.consent import levels
from prodtel.consent.resolve import resolve
from prodtel.consent.store import ConsentStore
from prodtel.policy import Policy

CAT = Catalog("myapp", [], policy=Policy(opt_out_envs=["MYAPP_NO_USAGE_REPORT"]))


def decide(env: dict[str, str], stored: dict | None = None, tmp: Path | None = None, **kw):  # type: ignore[no-untyped-def]
    store = ConsentStore(str(tmp or "/nonexistent-prodtel"))
    store.data = dict(stored or {})
    hooks = TestHooks(environ=env)
    s = Settings(CAT, "1.0", test_hooks=hooks, **kw)
    return resolve(s, env, store)


SEEN = {"notice_shown_at": "2026-01-01"}


def test_opt_out_policy_first_run_sends_nothing_then_all() -> None:
    first = decide({})
    assert first.level == levels.OFF and first.first_run
    assert first.winner == "policy opt-out (first run)"
    assert decide({}, SEEN).level == levels.ALL


def test_opt_in_policy_is_off_until_enabled() -> None:
    assert decide({}, SEEN, policy="opt-in").level == levels.OFF
    d = decide({}, {"level": "error", "enabled_at_ns": 123}, policy="opt-in")
    assert d.level == levels.ERROR and d.since_ns == 123


def test_env_level_beats_persisted_choice() -> None:
    d = decide({"MYAPP_TELEMETRY": "crash"}, {"level": "all"})
    assert d.level == levels.CRASH and d.winner == "env MYAPP_TELEMETRY"


def test_invalid_env_level_is_ignored_and_reported() -> None:
    d = decide({"MYAPP_TELEMETRY": "loud"}, SEEN)
    assert d.level == levels.ALL
    assert "MYAPP_TELEMETRY='loud'" in d.problems[0]


def test_do_not_track_zero_is_not_an_opt_out() -> None:
    assert decide({"DO_NOT_TRACK": "0"}, SEEN).level == levels.ALL
    assert decide({"DO_NOT_TRACK": ""}, SEEN).level == levels.ALL


def test_otel_sdk_disabled_true_caps_at_off_and_shows_in_explain() -> None:
    d = decide({"OTEL_SDK_DISABLED": "TRUE", "MYAPP_TELEMETRY": "all"}, SEEN)
    assert d.level == levels.OFF and d.winner == "env OTEL_SDK_DISABLED"
    by = {s.name: (s.value, s.effect) for s in d.sources}
    assert by["env OTEL_SDK_DISABLED"] == ("TRUE", "caps at off")
    # OTel's spec: only "true" disables; anything else is no opt-out.
    for value in ("false", "1", "yes", ""):
        d = decide({"OTEL_SDK_DISABLED": value}, SEEN)
        assert d.level == levels.ALL, value


def test_ci_is_suppressed_only_when_the_policy_says_so() -> None:
    assert decide({"CI": "1"}, SEEN).level == levels.ALL
    d = decide({"CI": "1"}, SEEN, ci="suppress")
    assert d.level == levels.OFF and d.winner.startswith("CI detection")
    assert decide({"CI": "false"}, SEEN, ci="suppress").level == levels.ALL
    assert decide({"GITHUB_ACTIONS": "true"}, SEEN, ci="suppress").level == levels.OFF


def test_explain_lists_every_source() -> None:
    d = decide({"DO_NOT_TRACK": "1", "MYAPP_TELEMETRY": "all"}, {"level": "error"})
    names = [s.name for s in d.sources]
    assert names == [
        "env MYAPP_TELEMETRY",
        "config file",
        "policy default",
        "--no-usage-report",
        "env MYAPP_NO_USAGE_REPORT",
        "env DO_NOT_TRACK",
        "env OTEL_SDK_DISABLED",
        "CI detection (none)",
        "AI agent detection (none)",
    ]
    assert d.winner == "env DO_NOT_TRACK"
    by = {s.name: s.effect for s in d.sources}
    assert by["env DO_NOT_TRACK"] == "caps at off"
    assert by["config file"] == "overridden by env"


level_names = st.sampled_from(["off", "crash", "error", "all"])
truthy = st.sampled_from(["1", "true", "TRUE", "yes", "on"])
falsy = st.sampled_from(["0", "false", "no", ""])


@given(
    env_level=st.none() | level_names,
    stored=st.none() | level_names,
    seen=st.booleans(),
    flag=st.booleans(),
    app_optout=st.none() | truthy | falsy,
    dnt=st.none() | truthy | falsy,
    otel_off=st.none() | st.sampled_from(["true", "True", "false", "1"]),
    policy=st.sampled_from(["opt-out", "opt-in"]),
)
def test_opt_outs_always_win_and_nothing_else_raises_the_default(
    env_level: str | None,
    stored: str | None,
    seen: bool,
    flag: bool,
    app_optout: str | None,
    dnt: str | None,
    otel_off: str | None,
    policy: str,
) -> None:
    env = {}
    if otel_off is not None:
        env["OTEL_SDK_DISABLED"] = otel_off
    if env_level is not None:
        env["MYAPP_TELEMETRY"] = env_level
    if app_optout is not None:
        env["MYAPP_NO_USAGE_REPORT"] = app_optout
    if dnt is not None:
        env["DO_NOT_TRACK"] = dnt
    data = {**({"level": stored} if stored else {}), **(SEEN if seen else {})}
    d = decide(env, data, policy=policy, cli_opt_out=flag)
    opted_out = flag or levels.truthy(app_optout) or levels.truthy(dnt)
    opted_out = opted_out or (otel_off or "").lower() == "true"
    if opted_out:
        assert d.level == levels.OFF
    elif env_level is not None:
        assert d.level == levels.parse(env_level)
    elif stored is not None:
        assert d.level == levels.parse(stored)
    else:
        default = levels.ALL if policy == "opt-out" and seen else levels.OFF
        assert d.level == default


def test_corrupt_and_unreadable_config_fall_back(tmp_path: Path) -> None:
    (tmp_path / "telemetry.json").write_text("{not json")
    store = ConsentStore(str(tmp_path)).load()
    assert store.problem and "corrupt" in store.problem and store.data == {}
    # A read-only home: the config dir cannot be created (a file stands in its way; chmod
    # would not stop root, which the tests may run as).
    (tmp_path / "blocked").write_text("")
    s = ConsentStore(str(tmp_path / "blocked" / "app"))
    assert s.update(level="all") is False
    assert s.problem and "cannot write" in s.problem
    assert s.get("level") == "all"  # the in-memory value still applies


def test_ci_tag_names_the_ci_system_on_the_resource(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import prodtel
    from prodtel.testing import capture

    monkeypatch.setenv("MYAPP_TELEMETRY", "all")
    monkeypatch.delenv("CI", raising=False)  # CI itself may run this test
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with capture() as sent:
        t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path), ci="tag")
        assert t.resource["prodtel.ci"] == "GITHUB_ACTIONS"
        prodtel.init(CAT, "1.0", config_dir=str(tmp_path), ci="send")
        assert "prodtel.ci" not in prodtel.current().resource  # type: ignore[union-attr]
        assert sent.records == []
    prodtel.shutdown(0)
