"""Analytics bench: ingest and report time on ~1M synthetic events, with peak RSS.

    .venv/bin/python bench/analytics_bench.py                 # 1M events, 3 repeats
    .venv/bin/python bench/analytics_bench.py --events 200000 --repeat 1

The events are written like the collector's file exporter writes them (synthetic installations,
sessions, commands, run summaries, crashes, opt-outs; `prodtel.analytics.synth`). Each measured
step runs in a fresh process (`--step`) that reports its own wall time and peak RSS, so chDB's
memory is not mixed with the bench's. Results: bench/results/analytics.md and .json.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results"
EVENTS_PER_INSTALLATION = 82  # what synth.sessions() yields on average over 30 days


def progress(msg: str) -> None:
    print(f"[analytics-bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- steps, each in its own process ------------------------------------------------------------
def step_ingest(db: Path, files: list[Path]) -> dict[str, Any]:
    from prodtel.analytics.backend import Chdb
    from prodtel.analytics.ingest import ingest

    last = [-1]

    def on_progress(name: str, frac: float) -> None:
        pct = int(frac * 100)
        if pct // 10 != last[0] // 10:  # a progress line every 10%
            last[0] = pct
            print(f"  ingest {name}: {pct}%", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    with Chdb(db) as d:
        r = ingest(d, files, on_progress)
        rows = d.rows("SELECT count() AS n FROM otel_logs")[0]["n"]
    return {
        "seconds": time.perf_counter() - t0,
        "records": r.records,
        "inserted": r.inserted,
        "rows": rows,
        "rss_mb": peak_rss_mb(),
    }


class Timed:
    """A backend that times each query, by the name of its SQL file."""

    def __init__(self, inner: Any) -> None:
        from prodtel.analytics import report

        self.inner = inner
        self.name: str = inner.name
        self.times: dict[str, float] = {}
        folder = Path(report.__file__).parent / "sql/report"
        self.names = {f.read_text(): f.stem for f in folder.glob("*.sql")}

    def rows(self, sql: str, params: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.rows(sql, params)
        finally:
            name = self.names.get(sql, sql.split()[0].lower())
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t


def step_report(db: Path, html_out: Path) -> dict[str, Any]:
    from prodtel.analytics import html, report
    from prodtel.analytics.backend import Chdb
    from prodtel.catalog_loader import load_catalog

    catalog = load_catalog(str(ROOT / "examples/loadgen/telemetry_catalog.py:CATALOG"))
    t0 = time.perf_counter()
    with Chdb(db) as d:
        opened = time.perf_counter() - t0
        timed = Timed(d)
        t = time.perf_counter()
        r = report.build(timed, catalog=catalog)
        build = time.perf_counter() - t
    t = time.perf_counter()
    html_out.write_text(html.render(r))
    render = time.perf_counter() - t
    return {
        "seconds": time.perf_counter() - t0,
        "open_seconds": opened,
        "build_seconds": build,
        "html_seconds": render,
        "per_query": timed.times,
        "installations": r["summary"]["installations"],
        "rss_mb": peak_rss_mb(),
    }


def run_step(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", *args], capture_output=True, text=True, check=False
    )
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"step {args[0]} failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def generate(path: Path, events: int) -> tuple[int, int]:
    from prodtel.analytics import synth

    installations = max(10, events // EVENTS_PER_INSTALLATION)
    t0 = time.perf_counter()
    lines, records = synth.write_jsonl(
        synth.sessions(installations=installations, days=30, seed=1), path, per_line=8
    )
    progress(
        f"generated {records:,} events ({installations:,} installations, {lines:,} lines, "
        f"{path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f}s"
    )
    return lines, records


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.step:
        kind, db, *rest = a.step
        if kind == "ingest":
            res = step_ingest(Path(db), [Path(x) for x in rest])
        else:
            res = step_report(Path(db), Path(rest[0]))
        print(json.dumps(res))
        return

    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp:
        d = Path(tmp)
        src = d / "out.jsonl"
        _, records = generate(src, a.events)
        first, again, reports = [], [], []
        for i in range(a.repeat):
            db = d / f"db{i}"
            progress(f"ingest {i + 1}/{a.repeat} into an empty folder")
            first.append(run_step("ingest", str(db), str(src)))
            progress(
                f"  {first[-1]['inserted']:,} rows in {first[-1]['seconds']:.1f}s, "
                f"peak RSS {first[-1]['rss_mb']:,.0f} MB"
            )
            again.append(run_step("ingest", str(db), str(src)))
            progress(f"  again (nothing new): {again[-1]['seconds']:.2f}s")
        for i in range(max(3, a.repeat)):
            reports.append(run_step("report", str(d / "db0"), str(d / "report.html")))
            progress(f"report {i + 1}: {reports[-1]['seconds']:.2f}s")
        html_kb = (d / "report.html").stat().st_size / 1024
        db_mb = sum(f.stat().st_size for f in (d / "db0").rglob("*") if f.is_file()) / 1e6
        src_mb = src.stat().st_size / 1e6

    ing_s = median([x["seconds"] for x in first])
    summary = {
        "events": records,
        "input_mb": round(src_mb, 1),
        "chdb_folder_mb": round(db_mb, 1),
        "ingest_seconds": round(ing_s, 2),
        "ingest_events_per_second": round(records / ing_s),
        "ingest_peak_rss_mb": round(max(x["rss_mb"] for x in first)),
        "reingest_seconds": round(median([x["seconds"] for x in again]), 3),
        "report_seconds": round(median([x["seconds"] for x in reports]), 2),
        "report_build_seconds": round(median([x["build_seconds"] for x in reports]), 2),
        "report_open_seconds": round(median([x["open_seconds"] for x in reports]), 2),
        "report_peak_rss_mb": round(max(x["rss_mb"] for x in reports)),
        "html_seconds": round(median([x["html_seconds"] for x in reports]), 3),
        "html_kb": round(html_kb),
        "per_query_ms": {
            k: round(1000 * median([x["per_query"][k] for x in reports]), 1)
            for k in reports[0]["per_query"]
        },
        "repeats": a.repeat,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analytics.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Analytics bench (bench/analytics_bench.py)",
        "",
        f"{records:,} synthetic events ({src_mb:,.0f} MB of OTLP/JSON lines), medians of "
        f"{a.repeat} runs, each step in a fresh process. Machine: 2 cores, shared and noisy.",
        "",
        "| step | time | peak RSS |",
        "|---|---|---|",
        f"| ingest into an empty chDB folder | {ing_s:.1f} s "
        f"({summary['ingest_events_per_second']:,} events/s) | "
        f"{summary['ingest_peak_rss_mb']:,} MB |",
        f"| ingest the same file again (nothing new) | {summary['reingest_seconds']:.2f} s | |",
        f"| full report (open folder + {len(summary['per_query_ms'])} queries) | "
        f"{summary['report_seconds']:.2f} s | {summary['report_peak_rss_mb']:,} MB |",
        f"| of which opening the folder | {summary['report_open_seconds']:.2f} s | |",
        f"| HTML page render | {summary['html_seconds'] * 1000:.0f} ms "
        f"({summary['html_kb']} KB) | |",
        "",
        f"chDB folder after ingest: {db_mb:,.0f} MB.",
        "",
        "| query | ms |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary["per_query_ms"].items()],
        "",
    ]
    (RESULTS / "analytics.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
