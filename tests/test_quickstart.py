"""The README's quick start, run as a new author would: its files written out, its commands run
in a fresh directory with this venv's `python` and `prodtel`. If the README drifts, this fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```python\n(.*?)```", re.S)
RUN_BLOCK = re.compile(r"<!-- run -->\n```sh\n(.*?)```", re.S)
SKELETONS = ("imgshrink_argparse.py", "imgshrink_click.py", "imgshrink_typer.py")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = README.read_text()
    files = dict(FILE_BLOCK.findall(text))
    assert {"imgshrink_telemetry.py", "test_imgshrink.py", *SKELETONS} <= set(files), files.keys()
    d = tmp_path_factory.mktemp("quickstart")
    for name, body in files.items():
        (d / name).write_text(body)
    return d


def env(home: Path, **extra: str) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PRODTEL_", "IMGSHRINK_", "PYTEST_"))
        and k not in ("DO_NOT_TRACK", "CI", "GITHUB_ACTIONS")
    }
    e.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".state"),
    )
    e.update(extra)
    return e


def sh(cmd: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-ec", cmd], cwd=cwd, env=env(cwd, **extra), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_every_run_block_succeeds(project: Path) -> None:
    blocks = RUN_BLOCK.findall(README.read_text())
    assert len(blocks) >= 4, blocks
    outputs = []
    for block in blocks:
        r = sh(block, project)
        assert r.returncode == 0, f"{block}\n{r.stdout}\n{r.stderr}"
        outputs.append(r.stderr)
    debug = outputs[0]
    assert '"image_shrunk"' in debug or "image_shrunk" in debug, debug
    assert "telemetry is off, decided by --no-telemetry" in debug, debug
    page = (project / "USAGE.md").read_text()
    assert "`IMGSHRINK_NO_TELEMETRY=1`" in page and "`--no-telemetry`" in page
    assert "image_shrunk" in (project / "collector.yaml").read_text()


@pytest.mark.parametrize("skeleton", SKELETONS)
def test_each_skeleton_sends_its_events_and_mounts_the_commands(
    project: Path, skeleton: str
) -> None:
    r = sh(f"python {skeleton} shrink cat.png", project, IMGSHRINK_TELEMETRY="all",
           PRODTEL_DEBUG="1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "image_shrunk" in r.stderr and "shrink" in r.stderr, r.stderr
    assert "cat.png" not in r.stderr  # arguments are never sent
    for cmd in ("status --explain", "enable --level crash", "show -n 1", "disable --json"):
        r = sh(f"python {skeleton} telemetry {cmd}", project)
        assert r.returncode == 0, f"{skeleton} telemetry {cmd}: {r.stdout}{r.stderr}"
    r = sh(f"python {skeleton} --no-telemetry shrink cat.png", project, PRODTEL_DEBUG="1")
    assert "decided by --no-telemetry" in r.stderr, r.stderr
