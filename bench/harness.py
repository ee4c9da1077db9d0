"""What every bench section shares: paths, the report being written (emit), progress lines, the
clean environment each measured process runs in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the collector, proxies, loopback helpers
SCEN = ROOT / "bench/scenarios"
RESULTS = ROOT / "bench/results"
PY = sys.executable
OUT: list[str] = []  # the report's lines
CHART: dict[str, dict[str, float]] = {}
TARGETS: dict[str, tuple[float, float, str]] = {}  # issue 18's figures: (value, limit, op)
# How fast this machine is in this run, beside the speed the absolute targets were set at (the
# shared machine has measured from 1x to 2.3x slower between days): label -> (this run, then).
MACHINE: dict[str, tuple[float, float]] = {}


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def emit(line: str = "") -> None:
    print(line, flush=True)
    OUT.append(line)


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PRODTEL_", "BENCHAPP_"))
        and k not in ("DO_NOT_TRACK", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "cfg"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.update(extra)
    return env


def seen(home: Path) -> None:
    d = home / "cfg/benchapp"
    d.mkdir(parents=True, exist_ok=True)
    (d / "telemetry.json").write_text('{"notice_shown_at": "2026-01-01"}')


def wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000
