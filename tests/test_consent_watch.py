"""A disable in another process reaches a long-running one through the consent file, and a
disable's cut-off is a new Decision (the gate never reads a half-edited one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prodtel import Catalog
from prodtel.config import Settings, TestHooks
from prodtel.consent import levels, watch
from prodtel.consent.resolve import Decision
from prodtel.consent.store import ConsentStore
from prodtel.pipeline import Gate

CAT = Catalog("watched", [])
INFO, FATAL = 9, levels.FATAL_SEVERITY


def test_cut_off_returns_a_new_decision_and_leaves_the_old_one_alone() -> None:
    d = Decision()
    d.level, d.winner = levels.ALL, "config file"
    cut = d.cut_off(1000, prior=levels.ALL, level=levels.OFF, winner="disable")
    assert cut is not d and cut.sources is not d.sources
    assert (d.level, d.until_ns, d.winner) == (levels.ALL, 0, "config file")
    assert (cut.level, cut.prior, cut.until_ns, cut.winner) == (levels.OFF, levels.ALL, 1000,
                                                                "disable")  # fmt: skip
    assert cut.allows_record(INFO, 999) and not cut.allows_record(INFO, 1000)
    kept = d.cut_off(5, prior=levels.CRASH)
    assert (kept.level, kept.winner) == (levels.ALL, "config file")
    assert kept.allows_record(FATAL, 4) and not kept.allows_record(INFO, 4)


@pytest.fixture
def consent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> watch.ConsentWatch:
    monkeypatch.setattr(watch, "WATCH_INTERVAL", 0.0)  # look at the file on every batch
    ConsentStore(str(tmp_path)).update(level="all")
    s = Settings(CAT, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ={}))
    return watch.ConsentWatch(s, {})


def test_a_disable_elsewhere_stops_this_process_from_its_cut_off_on(
    consent: watch.ConsentWatch, tmp_path: Path
) -> None:
    assert consent.current().level == levels.ALL  # first look: remembers the file's mtime
    before = consent.decision
    # Another process runs `telemetry disable` (its own ConsentStore, the same file).
    ConsentStore(str(tmp_path)).load().update(level="off", disabled_at_ns=2000)
    os.utime(consent.store.path, ns=(1, 1))  # a new mtime even on a coarse clock
    drops: dict[str, int] = {}
    gate = Gate(consent, drops)
    records = [(1999, INFO, "e", {}, {}), (2000, INFO, "e", {}, {}), (2500, FATAL, "e", {}, {})]
    kept = gate(records)  # type: ignore[arg-type]
    assert [r[0] for r in kept] == [1999]  # recorded before the disable, under level all
    assert drops == {"consent": 2}
    now = consent.current()
    assert (now.level, now.prior, now.until_ns) == (levels.OFF, levels.ALL, 2000)
    assert before.level == levels.ALL and before.until_ns == 0  # not edited in place


def test_an_unchanged_file_keeps_the_same_decision(consent: watch.ConsentWatch) -> None:
    first = consent.current()
    assert consent.current() is first
