"""prodtel's bench suite: prodtel side by side with raw OpenTelemetry and the peers, in one run.

    make bench                      # every section
    .venv/bin/python bench/run.py startup per-event

Each figure is the median of repeats (the machine is shared and noisy); tables give ratios.
Results go to bench/results/latest.md (and a PNG chart when matplotlib is installed).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backends import NullServer
from delivery_sections import section_burst, section_duplicates, section_exit, section_offline
from harness import CHART, MACHINE, OUT, RESULTS, ROOT, TARGETS, emit, progress
from start_sections import section_per_event, section_startup

SECTIONS: dict[str, Callable[[dict[str, str]], None]] = {
    "startup": lambda ctx: section_startup(ctx, repeats=int(os.environ.get("BENCH_REPEATS", 21))),
    "per-event": lambda ctx: section_per_event(
        ctx,
        repeats=int(os.environ.get("BENCH_EVENT_REPEATS", 5)),
        n=int(os.environ.get("BENCH_EVENTS", 20000)),
    ),
    "exit": lambda ctx: section_exit(ctx, repeats=int(os.environ.get("BENCH_EXIT_REPEATS", 5))),
    "duplicates": lambda ctx: section_duplicates(
        ctx, runs=int(os.environ.get("BENCH_DUP_RUNS", 50))
    ),
    "offline": lambda ctx: section_offline(ctx, runs=int(os.environ.get("BENCH_OFFLINE_RUNS", 10))),
    "burst": lambda ctx: section_burst(ctx, n=int(os.environ.get("BENCH_BURST", 1_000_000))),
}


def chart(path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib not installed: no chart")
        return
    fig, axes = plt.subplots(len(CHART), 1, figsize=(10, 4 * len(CHART)))
    for ax, (title, data) in zip([axes] if len(CHART) == 1 else axes, CHART.items(), strict=True):
        ax.barh(list(data), list(data.values()), color="#4c72b0")
        ax.set_title(title)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)
    progress(f"chart: {path}")


def main() -> int:
    from tests.support.collector import Collector  # on sys.path once harness is imported

    wanted = sys.argv[1:] or list(SECTIONS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Byte-compile prodtel as a wheel install would (the peers' .pyc files come with pip).
    import compileall

    compileall.compile_dir(str(ROOT / "src/prodtel"), quiet=1)
    null = NullServer()
    with Collector(Path(tempfile.mkdtemp()) / "collector") as c:
        ctx = {"collector": c.endpoint, "null": null.url}
        emit(
            f"# prodtel bench, {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
            f"Python {sys.version.split()[0]}\n"
        )
        for name in wanted:
            progress(f"section {name}")
            SECTIONS[name](ctx)
    if TARGETS:
        emit("## Targets (issue 18)")
        emit("| figure | this run | met |")
        emit("|---|---:|---|")
        for figure, (value, limit, op) in TARGETS.items():
            met = value <= limit if op == "<=" else value >= limit
            emit(f"| {figure} | {value:,.2f} | {'yes' if met else 'NO'} |")
        emit()
    if MACHINE:
        emit("Machine speed: the two absolute targets (ms, ns) were set where these were the")
        emit("'then' figures (2026-12-01 06:00 run); the ratios do not depend on it.\n")
        emit("| machine | this run | then |")
        emit("|---|---:|---:|")
        for label, (now, then) in MACHINE.items():
            emit(f"| {label} | {now:,.1f} | {then:,.1f} |")
        emit()
    name = os.environ.get("BENCH_RESULT", "latest")  # e.g. "exit" for `run.py exit duplicates`
    (RESULTS / f"{name}.md").write_text("\n".join(OUT) + "\n")
    chart(RESULTS / f"{name}.png")
    progress(f"results: {RESULTS / name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
