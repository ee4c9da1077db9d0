"""The first-run notice knob (`notice="tty"` default, `notice="always"`) and what `status` says
while an opt-out app is off because the notice was not shown: on a pty and without one.

Each run is a fresh interpreter (an app start) with stderr on a pipe or on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.app import clean_env, read_pty

APP = """
import json, sys
import prodtel
from prodtel import Catalog
from prodtel.cli.commands import render_status, status

mode = sys.argv[2]
if sys.argv[3] == "no-stderr":
    sys.stderr = None  # pythonw, or a daemon with fd 2 closed
kw = {} if mode == "default" else {"notice": mode}
t = prodtel.init(Catalog("nt", []), "1.0", config_dir=sys.argv[1], **kw)
data = status(t)
sys.stdout.write(json.dumps({"status": data, "text": render_status(data)}) + "\\n")
prodtel.shutdown(1.0)
"""
NOTICE = "nt collects anonymous usage data"
WHY_TTY = "the first-run notice has not been shown on a terminal yet; until then nothing is sent"


def run(home: Path, mode: str, tty: bool, stderr: str = "ok") -> tuple[dict[str, object], str]:
    """One start of the app; returns (its status JSON + rendered text, what it wrote on
    stderr)."""
    env = clean_env(home)
    cmd = [sys.executable, "-c", APP, str(home / "cfg"), mode, stderr]
    if not tty:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout), p.stderr
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    err = read_pty(master)
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(60) == 0, err
    os.close(master)
    return json.loads(out), err.decode()


def test_default_tty_notice_never_shows_off_a_terminal_and_status_says_why(
    tmp_path: Path,
) -> None:
    for _ in range(3):
        got, err = run(tmp_path, "default", tty=False)
        assert NOTICE not in err
        s = got["status"]
        assert isinstance(s, dict)
        assert (s["level"], s["decided_by"], s["notice"]) == (
            "off",
            "policy opt-out (first run)",
            "tty",
        )
        assert s["why"] == WHY_TTY and s["notice_shown_at"] is None
        assert s["how_to_enable"] == (
            "run `nt` once on a terminal to see the notice, or turn it on now:"
            " `nt telemetry enable` or NT_TELEMETRY=all"
        )
        text = str(got["text"])
        assert f"  why:        {WHY_TTY}" in text
        assert "  to turn on: run `nt` once on a terminal" in text


def test_default_tty_notice_shows_on_a_pty_then_telemetry_is_on(tmp_path: Path) -> None:
    got, err = run(tmp_path, "default", tty=True)
    assert NOTICE in err
    s = got["status"]
    assert isinstance(s, dict)
    assert s["level"] == "off" and s["notice_shown_at"]  # the run that shows it sends nothing
    assert s["why"] == (
        "the first-run notice was shown during this run; sending starts with the next run"
    )
    got, err = run(tmp_path, "default", tty=False)
    s = got["status"]
    assert isinstance(s, dict)
    assert NOTICE not in err
    assert (s["level"], s["decided_by"], s["why"]) == ("all", "policy opt-out", None)
    assert "why:" not in str(got["text"])


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "pty"])
def test_always_prints_the_notice_once_without_a_terminal_too(tmp_path: Path, tty: bool) -> None:
    got, err = run(tmp_path, "always", tty=tty)
    assert NOTICE in err and "Nothing is sent during this first run" in err
    s = got["status"]
    assert isinstance(s, dict)
    assert (s["level"], s["notice"]) == ("off", "always") and s["notice_shown_at"]
    got, err = run(tmp_path, "always", tty=tty)
    s = got["status"]
    assert isinstance(s, dict)
    assert NOTICE not in err
    assert (s["level"], s["decided_by"]) == ("all", "policy opt-out")


def test_always_without_any_stderr_shows_nothing_and_counts_nothing(tmp_path: Path) -> None:
    got, _ = run(tmp_path, "always", tty=False, stderr="no-stderr")
    s = got["status"]
    assert isinstance(s, dict)
    assert s["level"] == "off" and s["notice_shown_at"] is None
    assert s["why"] == "the first-run notice has not been shown yet; until then nothing is sent"
    got, err = run(tmp_path, "always", tty=False)  # a later run with stderr shows it
    assert NOTICE in err


def test_a_bad_notice_value_is_the_app_authors_error() -> None:
    import prodtel
    from prodtel import Catalog

    with pytest.raises(ValueError, match="notice must be one of 'tty', 'always', not 'never'"):
        prodtel.init(Catalog("nt", []), "1.0", notice="never")


def test_the_usage_page_explains_the_notice() -> None:
    from prodtel import Catalog, Policy, docs

    tty = docs.render(Catalog("nt", []))
    assert "## The first-run notice" in tty
    assert "A program that never runs on a terminal (CI, containers, scripts)" in tty
    assert "`nt telemetry status` says why" in tty and "`NT_TELEMETRY=all`" in tty
    always = docs.render(Catalog("nt", [], policy=Policy(notice="always")))  # read by init() too
    assert "also when no terminal is attached (CI, containers, scripts)" in always
    assert "never runs on a terminal" not in always
