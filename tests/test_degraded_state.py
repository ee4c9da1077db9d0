"""A broken state dir never loses a run's events and never breaks a command: an unwritable or
full state dir delivers from memory, a corrupt outbox is moved aside and counted, and `status`
says so. Real processes, the real collector, real (tiny, private) filesystems."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.app import LOADGEN, clean_env
from tests.support.collector import Collector
from tests.support.disks import damage_pages, garble, on_tmpfs

ROOT = Path(__file__).resolve().parents[1]
MEMORY = "events are sent from memory and lost if this run cannot deliver them"

# An app that tracks `n` events and flushes; "fill" fills its (tmpfs) state disk midway.
APP = """
import json, os, sys
import prodtel
from prodtel import Attr, Catalog, Event

CAT = Catalog("stapp", [Event("tick", "A tick.", attrs=[
    Attr("seq", int, "Sequence."), Attr("pad", str, "Padding.")])])
endpoint, state, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
prodtel.init(CAT, "1.0", endpoint=endpoint, state_dir=state, config_dir=state + ".config")
first = 10 if mode == "fill" else n
for i in range(first):
    prodtel.track("tick", seq=i, pad="")
flushed = prodtel.flush(20)
if mode == "fill":  # the disk fills up while the app runs
    try:
        with open(os.path.join(os.path.dirname(state), "fill"), "wb") as f:
            while True:
                f.write(b"0" * 4096)
                f.flush()
    except OSError:
        pass
    for i in range(first, n):
        prodtel.track("tick", seq=i, pad=os.urandom(100).hex())
    flushed = prodtel.flush(20)
print(json.dumps({"flushed": flushed, "status": prodtel.status()}))
"""


def run_app(
    tmp_path: Path,
    endpoint: str,
    state: Path,
    n: int,
    mode: str = "-",
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> dict:  # type: ignore[type-arg]
    script = tmp_path / "stapp.py"
    script.write_text(APP)
    argv = [sys.executable, str(script), endpoint, str(state), str(n), mode]
    env = {**os.environ, "STAPP_TELEMETRY": "all", "PRODTEL_UPLOADER": "1"}
    env["PYTHONPATH"] = str(ROOT / "src")
    p = subprocess.run(
        wrap(argv) if wrap else argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return json.loads(p.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def seqs(c: Collector, n: int) -> list[int]:
    return sorted(int(r["attributes"]["seq"]) for r in c.wait_records(n, timeout=30))


def test_unwritable_state_dir_delivers_from_memory_and_says_so(
    tmp_path: Path, collector: Collector
) -> None:
    (tmp_path / "blocked").write_text("a file where the state dir's parent should be")
    state = tmp_path / "blocked" / "state"
    out = run_app(tmp_path, collector.endpoint, state, 200)
    assert out["flushed"]
    assert seqs(collector, 200) == list(range(200))  # each exactly once
    assert f"state dir {state} is not writable: {MEMORY}" in out["status"]["problems"]


def test_read_only_state_disk_delivers_from_memory(tmp_path: Path, collector: Collector) -> None:
    disk = tmp_path / "disk"
    wrap = lambda argv: on_tmpfs(disk, argv, state="ro", subdir="state")  # noqa: E731
    out = run_app(tmp_path, collector.endpoint, disk / "state", 100, wrap=wrap)
    assert out["flushed"]
    assert seqs(collector, 100) == list(range(100))
    assert f"state dir {disk / 'state'} is not writable: {MEMORY}" in out["status"]["problems"]


@pytest.mark.parametrize("damage", [garble, damage_pages], ids=["not-a-db", "malformed"])
def test_corrupt_outbox_is_moved_aside_counted_and_reported(
    tmp_path: Path, collector: Collector, damage: object
) -> None:
    state = tmp_path / "state"
    damage(state / "outbox.sqlite3")  # type: ignore[operator]
    out = run_app(tmp_path, collector.endpoint, state, 100)
    assert out["flushed"] and out["status"]["problems"] == []
    assert seqs(collector, 100) == list(range(100))
    aside = sorted(p.name for p in state.glob("outbox.sqlite3.corrupt-*") if "-wal" not in p.name)
    assert len(aside) == 1

    # the next run finds a healthy outbox: nothing more is moved aside, the count stays 1
    run_app(tmp_path, collector.endpoint, state, 0)
    assert len([p for p in state.glob("outbox.sqlite3.corrupt-*") if "-wal" not in p.name]) == 1
    from prodtel.delivery.outbox import Outbox

    assert Outbox(str(state)).counters()["outbox_corrupt"] == 1


@pytest.mark.parametrize("when", ["before", "midway"])
def test_full_disk_still_delivers_from_memory(
    tmp_path: Path, collector: Collector, when: str
) -> None:
    disk = tmp_path / "disk"
    if when == "before":
        wrap = lambda argv: on_tmpfs(disk, argv, kib=64, state="full")  # noqa: E731
        out = run_app(tmp_path, collector.endpoint, disk / "state", 300, wrap=wrap)
    else:
        wrap = lambda argv: on_tmpfs(disk, argv, kib=256)  # noqa: E731
        out = run_app(tmp_path, collector.endpoint, disk / "state", 2000, "fill", wrap=wrap)
    n = 300 if when == "before" else 2000
    assert out["flushed"]
    assert seqs(collector, n) == list(range(n))
    assert f"state dir {disk / 'state'} has no space left: {MEMORY}" in out["status"]["problems"]
    assert out["status"]["stats"].get("dropped_outbox_error", 0) == 0


# -- every telemetry command, on every kind of broken state, through both real CLIs ------------
COMMANDS = [
    ["status"],
    ["status", "--json", "--explain"],
    ["pending"],
    ["pending", "--json"],
    ["show"],
    ["reset-id"],
    ["disable"],
    ["enable"],
]
PRODTEL_CLI = [
    "-m",
    "prodtel.cli.main",
    "telemetry",
    "--catalog",
    str(ROOT / "examples/loadgen/telemetry_catalog.py:CATALOG"),
]


def broken_state(kind: str, home: Path) -> tuple[dict[str, str], list[str], str]:
    """(env, argv prefix, the problem `status` must name) for loadgen's state in `home`."""
    state_home = home / "state"
    app_state = state_home / "loadgen"
    env = clean_env(home, LOADGEN_TELEMETRY="all", XDG_STATE_HOME=str(state_home))
    prefix: list[str] = []
    if kind == "unwritable":
        state_home.write_text("a file where the state dir should be")
        problem = f"state dir {app_state} is not writable: {MEMORY}"
    elif kind in ("garbled", "malformed"):
        (garble if kind == "garbled" else damage_pages)(app_state / "outbox.sqlite3")
        problem = "the outbox was corrupt and was moved aside to"
    elif kind == "full":
        prefix = on_tmpfs(state_home, [], state="full")
        problem = f"state dir {app_state} has no space left: {MEMORY}"
    else:  # read-only
        prefix = on_tmpfs(state_home, [], state="ro", subdir="loadgen")
        problem = f"state dir {app_state} is not writable: {MEMORY}"
    return env, prefix, problem


@pytest.mark.parametrize("kind", ["unwritable", "read-only", "full", "garbled", "malformed"])
@pytest.mark.parametrize("cli", ["loadgen", "prodtel"])
def test_no_command_prints_a_traceback_on_broken_state(tmp_path: Path, kind: str, cli: str) -> None:
    env, prefix, problem = broken_state(kind, tmp_path)
    head = [str(LOADGEN), "telemetry"] if cli == "loadgen" else PRODTEL_CLI
    env["PYTHONPATH"] = str(ROOT / "src")
    for cmd in COMMANDS:
        p = subprocess.run(
            [*prefix, sys.executable, *head, *cmd],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert p.returncode == 0, (cmd, p.stderr)
        assert "Traceback" not in p.stderr and "Error" not in p.stderr, (cmd, p.stderr)
        if cmd == ["status"]:
            assert f"problem:    {problem}" in p.stdout, p.stdout
        if cmd[:2] == ["status", "--json"]:
            data = json.loads(p.stdout)
            assert any(x.startswith(problem) for x in data["problems"]), data["problems"]
            assert any(x.startswith(problem) for x in data["outbox"]["problems"])
