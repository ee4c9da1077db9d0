"""Runs driven by AI coding agents: detected from the markers the agents document, and the
app's send/suppress/tag policy applied like the CI one."""

from __future__ import annotations

from pathlib import Path

import pytest

import prodtel
from prodtel.catalog import Catalog
from prodtel.config import Settings, TestHooks
from prodtel.consent import agents, levels
from prodtel.consent.resolve import resolve
from prodtel.consent.store import ConsentStore
from prodtel.testing import capture

CAT = Catalog("myapp", [])
SEEN = {"notice_shown_at": "2026-01-01"}


def decide(env: dict[str, str], **kw: str):  # type: ignore[no-untyped-def]
    store = ConsentStore("/nonexistent-prodtel")
    store.data = dict(SEEN)
    s = Settings(CAT, "1.0", test_hooks=TestHooks(environ=env), **kw)
    return resolve(s, env, store)


@pytest.mark.parametrize(("var", "value", "name"), [
    ("CLAUDECODE", "1", "claude_code"),
    ("GEMINI_CLI", "1", "gemini_cli"),
    ("CODEX_SANDBOX", "seatbelt", "codex"),
    ("CODEX_SANDBOX_NETWORK_DISABLED", "1", "codex"),
    ("CURSOR_AGENT", "1", "cursor"),
])  # fmt: skip
def test_each_documented_marker_is_recognised(var: str, value: str, name: str) -> None:
    assert agents.detect({var: value}) == (name, var)


@pytest.mark.parametrize("value", ["", "0", "false", "off"])
def test_an_unset_or_false_marker_is_not_an_agent(value: str) -> None:
    assert agents.detect({"CLAUDECODE": value, "PATH": "/usr/bin"}) is None


def test_suppress_caps_at_off_and_says_why() -> None:
    d = decide({"CLAUDECODE": "1"}, agent="suppress")
    assert d.level == levels.OFF and d.winner == "AI agent detection (CLAUDECODE)"
    effects = {s.name: s.effect for s in d.sources}
    assert effects["AI agent detection (CLAUDECODE)"] == "caps at off"
    # Without an agent, or with the default policy, the level is untouched.
    assert decide({}, agent="suppress").level == levels.ALL
    sent = decide({"CLAUDECODE": "1"})
    assert sent.level == levels.ALL and sent.agent == "claude_code"


def test_tag_names_the_agent_on_the_resource(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MYAPP_TELEMETRY", "all")
    monkeypatch.setenv("GEMINI_CLI", "1")
    with capture():
        t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path), agent="tag")
        assert t.resource["prodtel.agent"] == "gemini_cli"
        t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path), agent="send")
        assert "prodtel.agent" not in t.resource
    prodtel.shutdown(0)


def test_the_collector_keeps_the_agent_tag() -> None:
    from prodtel.collector_config.keys import allowed_keys

    assert "prodtel.agent" in allowed_keys(CAT)


def test_a_bad_policy_value_fails_in_init() -> None:
    with pytest.raises(ValueError, match="agent must be one of"):
        Settings(CAT, "1.0", agent="maybe")
