"""Run the loadgen example as a real process, the way a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "examples/loadgen/loadgen.py"
# Logs every socket connect of the child process to $PRODTEL_TEST_CONNECT_LOG.
AUDIT = ROOT / "tests/support/audit"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    connects: list[str]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with a private HOME/XDG config and no inherited opt-outs or endpoints."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "LOADGEN_", "PRODTEL_", "SENTRY_"))
        and k not in ("DO_NOT_TRACK", "CI", "GITHUB_ACTIONS", "SSL_CERT_FILE")
        and not k.lower().endswith("_proxy")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    env.update(extra)
    return env


def sent_log(home: Path, app: str = "loadgen") -> list[dict[str, Any]]:
    """The app's sent log (what `telemetry show` lists). It is written when the answer is
    read, which can be a moment after the collector has the records."""
    from prodtel import sentlog

    return sentlog.read(str(home / ".local/state" / app), 200)


def seen_notice(home: Path) -> None:
    """Mark the first-run notice as shown, as after a user's first interactive run."""
    cfg = home / ".config/loadgen"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "telemetry.json").write_text('{"notice_shown_at": "2026-01-01T00:00:00Z"}\n')


def run_on_tty(args: list[str], env: dict[str, str]) -> str:
    """Run loadgen with stderr on a pseudo-terminal (as for a person); return what it printed
    there. The first-run notice only shows on a terminal."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, str(LOADGEN), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    out = read_pty(master)
    p.wait()
    os.close(master)
    return out.decode()


def read_pty(master: int) -> bytes:
    """All a child wrote on the terminal whose master side is `master`, until it closed it
    (Linux reports the end as EIO)."""
    out = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    return out


def loadgen(*args: str, env: dict[str, str], timeout: float = 60) -> Run:
    log = Path(env["HOME"]) / "connects.log"
    log.unlink(missing_ok=True)
    env = {
        **env,
        "PYTHONPATH": f"{AUDIT}{os.pathsep}{env.get('PYTHONPATH', '')}",
        "PRODTEL_TEST_CONNECT_LOG": str(log),
    }
    start = time.monotonic()
    p = subprocess.run(
        [sys.executable, str(LOADGEN), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    took = time.monotonic() - start
    connects = log.read_text().splitlines() if log.exists() else []
    return Run(p.returncode, p.stdout, p.stderr, took, connects)
