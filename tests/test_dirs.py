"""prodtel.platform.dirs: platformdirs' answer, memoized (dirmemo). Each case runs in a fresh
interpreter, where platformdirs is not imported yet (pytest itself imports it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no memo on Windows")

PROBE = """
import json, sys
from prodtel.platform import dirmemo, dirs
dirmemo.MEMO_DIR = sys.argv[1]
out = {"config": dirs.config_dir("memoapp"), "state": dirs.state_dir("memoapp")}
out["imported"] = "platformdirs" in sys.modules
print(json.dumps(out))
"""
TRUTH = """
import json, platformdirs
print(json.dumps({"config": platformdirs.user_config_dir("memoapp", appauthor=False),
                  "state": platformdirs.user_state_dir("memoapp", appauthor=False)}))
"""


def run(code: str, memo: Path, env: dict[str, str]) -> dict[str, object]:
    p = subprocess.run(
        [sys.executable, "-c", code, str(memo)], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(p.stdout)
    return result


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(HOME=str(home), **extra)
    return env


@pytest.mark.parametrize(
    "xdg",
    [
        {},
        {"XDG_CONFIG_HOME": "/somewhere/cfg", "XDG_STATE_HOME": "/somewhere/state"},
        {"XDG_CONFIG_HOME": "relative/cfg"},  # platformdirs ignores a relative XDG dir
    ],
)
def test_memo_answers_what_platformdirs_answers_and_spares_the_import(
    tmp_path: Path, xdg: dict[str, str]
) -> None:
    env = clean_env(tmp_path, **xdg)
    truth = run(TRUTH, tmp_path, env)
    first = run(PROBE, tmp_path / "memo", env)
    second = run(PROBE, tmp_path / "memo", {**env, "PWD": "/elsewhere", "OLDPWD": "/x"})
    assert first == {**truth, "imported": True}
    assert second == {**truth, "imported": False}


def test_any_change_of_the_environment_asks_platformdirs_again(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    run(PROBE, memo, clean_env(tmp_path / "a"))
    env = clean_env(tmp_path / "b")
    moved = run(PROBE, memo, env)
    assert moved == {**run(TRUTH, memo, env), "imported": True}
    assert str(tmp_path / "b") in str(moved["config"])
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert run(PROBE, memo, env)["config"] == str(tmp_path / "xdg/memoapp")


def test_a_corrupt_memo_is_ignored_and_replaced(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    memo.mkdir()
    (memo / f"dirs.{os.getuid()}.json").write_text("{not json")
    env = clean_env(tmp_path)
    assert run(PROBE, memo, env) == {**run(TRUTH, memo, env), "imported": True}
    assert run(PROBE, memo, env)["imported"] is False


def test_no_memo_is_written_under_pythondontwritebytecode(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    env = clean_env(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert run(PROBE, memo, env)["imported"] is True
    assert run(PROBE, memo, env)["imported"] is True
    assert not memo.exists() or not list(memo.iterdir())


def test_the_memo_is_private_to_the_user(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    run(PROBE, memo, clean_env(tmp_path))
    (f,) = memo.iterdir()
    assert f.stat().st_mode & 0o077 == 0
    assert "memoapp" in f.read_text()


def test_several_environments_are_remembered(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    envs = [clean_env(tmp_path / name) for name in ("a", "b", "c")]
    for env in envs:
        assert run(PROBE, memo, env)["imported"] is True
    for env in envs:
        assert run(PROBE, memo, env) == {**run(TRUTH, memo, env), "imported": False}


OFF_START = """
import sys
from prodtel.platform import dirmemo
dirmemo.MEMO_DIR = sys.argv[1]
import prodtel
from prodtel import Catalog
t = prodtel.init(Catalog("memoapp", []), "1.0", endpoint="http://127.0.0.1:9")
assert t.decision.level_name == "off" and t.decision.winner == "config file", t.status()
costly = ("json", "re", "platformdirs", "pathlib", "errno", "prodtel.platform._posix")
print(sorted(m for m in costly if m in sys.modules))
"""


def test_a_start_off_by_the_persisted_choice_imports_none_of_the_costly_modules(
    tmp_path: Path,
) -> None:
    """The user said no: each later start finds the consent file by the memo and reads it with
    json's C scanner; platformdirs, pathlib, json and re stay unloaded (the first run fills
    the memo and may load them), and so does the platform's lock and spawn code."""
    cfg = tmp_path / "cfg"
    (cfg / "memoapp").mkdir(parents=True)
    (cfg / "memoapp/telemetry.json").write_text('{"level": "off"}\n')
    env = clean_env(tmp_path, XDG_CONFIG_HOME=str(cfg))
    memo = str(tmp_path / "memo")
    args = [sys.executable, "-c", OFF_START, memo]
    subprocess.run(args, env=env, check=True, capture_output=True)
    p = subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    assert p.stdout.strip() == "[]"
