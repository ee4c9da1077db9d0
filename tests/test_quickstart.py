"""The README's quick start, run as a new author would: its files written out, its commands run
in a fresh directory with this venv's `python` and `prodtel`. If the README drifts, this fails.

Blocks marked `<!-- run -->` run as they are; the one marked `<!-- collector -->` starts the
real collector (tests/support/collector.py, on free loopback ports instead of the defaults it
names) and runs the rest of its lines against it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prodtel.collector_config import ENV
from tests.support.collector import pipeline

README = Path(__file__).resolve().parents[1] / "README.md"
FILE_BLOCK = re.compile(r"<!-- file: (\S+) -->\n```python\n(.*?)```", re.S)
RUN_BLOCK = re.compile(r"<!-- run -->\n```sh\n(.*?)```", re.S)
SH_BLOCK = re.compile(r"<!-- (run|collector) -->\n```sh\n(.*?)```", re.S)
# `[VAR=value ...] <binary> --config <file> &`: the collector, started in the background.
START = re.compile(r"^(?P<env>(?:\w+=\S+ )*)(?P<bin>\S+) --config (?P<config>\S+) &$", re.M)
ASSIGN = re.compile(r"^(\w+)=(\S+)", re.M)
SKELETONS = ("imgshrink_argparse.py", "imgshrink_click.py", "imgshrink_typer.py")


def write_files(d: Path) -> Path:
    files = dict(FILE_BLOCK.findall(README.read_text()))
    assert {"imgshrink_telemetry.py", "test_imgshrink.py", *SKELETONS} <= set(files), files.keys()
    d.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (d / name).write_text(body)
    return d


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("quickstart"))


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


def run_collector_block(block: str, project: Path, workdir: Path) -> tuple[list[Any], str]:
    """Follow the collector block: start the collector it names with the config and data dir
    it gives, then run its other lines against it. Returns the records in the data dir and
    what the block's last line (the look at the output) printed."""
    start = START.search(block)
    assert start, block
    before, after = block[: start.start()], block[start.end() :].strip()
    assigned = dict(ASSIGN.findall(before))
    binary = start["bin"]
    if binary.startswith("$"):
        binary = assigned[binary[1:]]
    assert binary.endswith("build/otelcol-prodtel/otelcol-prodtel"), binary  # `make collector`
    env = {k: v.replace("$PWD", str(project)) for k, v in ASSIGN.findall(start["env"])}
    data_dir = Path(env.pop("PRODTEL_DATA_DIR"))
    config = (project / start["config"]).read_text()
    # The block talks to the generated config's default addresses; the test's collector listens
    # on free ports, so those addresses are swapped (and must be there to swap).
    http, health = ENV["PRODTEL_OTLP_HTTP_ENDPOINT"], ENV["PRODTEL_HEALTH_ENDPOINT"]
    assert http in after and health in after, after
    col = pipeline(workdir, config, data_dir, **env).start()
    try:
        after = after.replace(http, f"127.0.0.1:{col.http_port}")
        after = after.replace(health, f"127.0.0.1:{col.health_port}")
        *send, look = after.splitlines()
        r = sh("\n".join(send), project)
        assert r.returncode == 0, f"{after}\n{r.stdout}\n{r.stderr}"
        out = data_dir / "analytics.jsonl"
        assert str(out.relative_to(project)) in look, look
        # Delivery may finish in the app's detached uploader a moment after it exits.
        records = col.wait_records(2, timeout=30, path=out)
        r = sh(look, project)
        assert r.returncode == 0, f"{look}\n{r.stderr}"
        return records, r.stdout
    finally:
        col.stop()


@pytest.mark.e2e
def test_the_quick_start_reaches_a_real_collector_and_a_passing_capture_test(
    tmp_path: Path,
) -> None:
    """From an empty directory, every block in the README's order: events arrive in the
    author's own collector, then the prodtel_capture test passes."""
    project = write_files(tmp_path / "app")
    blocks = SH_BLOCK.findall(README.read_text())
    assert [kind for kind, _ in blocks].count("collector") == 1, blocks
    seen: list[str] = []
    for kind, block in blocks:
        if kind == "collector":
            records, shown = run_collector_block(block, project, tmp_path / "collector")
            events = sorted(r["event_name"] for r in records)
            assert events == ["command", "image_shrunk"], events
            (shrunk,) = [r for r in records if r["event_name"] == "image_shrunk"]
            assert shrunk["attributes"].pop("log.record.uid")
            assert shrunk["attributes"] == {"format": "png", "ratio": 0.5}
            assert shrunk["resource"]["service.name"] == "imgshrink"
            assert "cat.png" not in json.dumps(records)
            assert '"image_shrunk"' in shown and '"command"' in shown, shown
        else:
            r = sh(block, project)
            assert r.returncode == 0, f"{block}\n{r.stdout}\n{r.stderr}"
            if "pytest" in block:
                assert "2 passed" in r.stdout, r.stdout
        seen.append(kind)
    # The collector comes after its config is generated, the capture test after it.
    assert seen.index("collector") < len(seen) - 1
