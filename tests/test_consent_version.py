"""Consent version: raising `Policy(consent_version=...)` (new kinds of data) shows the
first-run notice again and, for opt-out apps, sends nothing until it was shown."""

from __future__ import annotations

import io
import json
from pathlib import Path

import prodtel
from prodtel import Catalog, Event
from prodtel.config import Settings, TestHooks
from prodtel.consent import levels
from prodtel.consent.resolve import resolve
from prodtel.consent.store import ConsentStore
from prodtel.policy import Policy
from prodtel.testing import capture

V1 = Catalog("vapp", [Event("saved", "Saved.")])
V2 = Catalog("vapp", [Event("saved", "Saved.")], policy=Policy(consent_version=2))
V2_IN = Catalog(
    "vapp", [Event("saved", "Saved.")], policy=Policy(consent_version=2, default="opt-in")
)
SEEN_V1 = {"notice_shown_at": "2026-01-01T00:00:00Z"}  # a file from before consent versions


def decide(cat: Catalog, stored: dict, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def,type-arg]
    store = ConsentStore("/nonexistent-prodtel")
    store.data = dict(stored)
    env = env or {}
    return resolve(Settings(cat, "1.0", test_hooks=TestHooks(environ=env)), env, store)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_raised_version_stops_an_opt_out_app_until_the_notice_is_shown() -> None:
    assert decide(V1, SEEN_V1).level == levels.ALL
    d = decide(V2, SEEN_V1)
    assert d.level == levels.OFF and d.first_run
    assert d.winner == "consent version 2 (notice not shown yet)"
    # An explicit `enable` made under version 1 does not cover the new kinds of data either.
    assert decide(V2, {**SEEN_V1, "level": "all"}).level == levels.OFF
    # Seen at version 2: sends again. The level env var (the operator's word) is not held.
    assert decide(V2, {**SEEN_V1, "consent_version": 2}).level == levels.ALL
    assert decide(V2, SEEN_V1, {"VAPP_TELEMETRY": "all"}).level == levels.ALL
    # Opt-outs and `local` are never turned into anything else.
    assert decide(V2, {**SEEN_V1, "level": "off"}).winner == "config file"
    assert decide(V2, {**SEEN_V1, "level": "local"}).local


def test_opt_in_keeps_the_choice_and_shows_the_notice_again() -> None:
    d = decide(V2_IN, {"level": "all", "enabled_at_ns": 1, "consent_version": 1})
    assert d.level == levels.ALL and d.renotice and not d.first_run
    assert not decide(V2_IN, {"level": "all", "consent_version": 2}).renotice


def test_the_notice_shows_again_once_and_records_the_version(tmp_path: Path) -> None:
    from prodtel import notice

    (tmp_path / "telemetry.json").write_text(json.dumps(SEEN_V1))
    store = ConsentStore(str(tmp_path)).load()
    s = Settings(V2, "1.0", test_hooks=TestHooks(environ={}))
    out = Tty()
    assert notice.maybe_show(s, store, out)
    assert "has changed since you last saw this notice (consent version 2)" in out.getvalue()
    assert json.loads((tmp_path / "telemetry.json").read_text())["consent_version"] == 2
    assert not notice.maybe_show(s, store, Tty())  # once
    assert not notice.maybe_show(Settings(V1, "1.0"), store, Tty())


def test_in_process_nothing_leaves_before_the_new_notice(tmp_path: Path) -> None:
    (tmp_path / "telemetry.json").write_text(json.dumps(SEEN_V1))
    env: dict[str, str] = {}
    with capture() as sent:
        t = prodtel.init(V2, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ=env))
        assert t.status()["level"] == "off"
        prodtel.track("saved")
        prodtel.shutdown(0)
        assert sent.records == []
        data = __import__("prodtel.cli.commands", fromlist=["status"]).status(t)
        assert data["consent_version"] == {"app": 2, "seen": 1}
        assert "consent version 2" in data["why"]
        # The user runs `telemetry enable`: that is consent to version 2.
        t = prodtel.init(V2, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ=env))
        t.enable()
        t = prodtel.init(V2, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ=env))
        assert t.status()["level"] == "all"
        prodtel.track("saved")
        prodtel.shutdown(0)
        assert "saved" in [r.name for r in sent.records]


def test_policy_rejects_a_bad_version() -> None:
    import pytest

    from prodtel.policy import PolicyError

    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(PolicyError, match="consent_version"):
            Policy(consent_version=bad)  # type: ignore[arg-type]
