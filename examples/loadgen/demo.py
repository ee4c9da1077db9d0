"""`make demo`: loadgen against the real collector, end to end, as a new user meets it.

1. starts otelcol-prodtel on 127.0.0.1 with loadgen's generated pipeline
   (collector-config/loadgen.yaml: catalog enforcement, redaction, routing), files under
   build/demo/data,
2. runs loadgen on a terminal for the first time: the notice is shown, nothing is sent,
3. runs it again: the usage report is sent,
4. runs it with DO_NOT_TRACK=1: nothing is sent,
5. crashes it on purpose (`run --fail`): the crash goes to the errors pipeline,
6. prints what the collector received,
7. ingests the collector's files into embedded chDB and prints the usage report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.app import clean_env, run_on_tty  # noqa: E402
from tests.support.collector import pipeline  # noqa: E402

LOADGEN = [sys.executable, str(ROOT / "examples/loadgen/loadgen.py")]
RUN = ["run", "--vus", "5", "--iterations", "20", "--duration", "1s"]


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def show_on_tty(args: list[str], env: dict[str, str]) -> None:
    sys.stdout.write("".join(f"  stderr| {line}\n" for line in run_on_tty(args, env).splitlines()))


def run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(LOADGEN + args, env=env, check=False)


def main() -> int:
    work = ROOT / "build/demo"
    shutil.rmtree(work, ignore_errors=True)
    home = work / "home"
    home.mkdir(parents=True)
    data = work / "data"
    c = pipeline(work / "collector", (ROOT / "collector-config/loadgen.yaml").read_text(), data)
    with c:
        env = clean_env(home, LOADGEN_TELEMETRY_ENDPOINT=c.endpoint)
        analytics = data / "analytics.jsonl"
        print(
            f"collector: {c.endpoint} (OTLP/HTTP), pipeline collector-config/loadgen.yaml, "
            f"writing {data}/"
        )

        step("1. first run, on a terminal: the notice is shown and nothing is sent")
        show_on_tty(RUN, env)
        print(f"  collector received {len(list(c.log_records(analytics)))} records")

        step("2. second run: one usage report (plus the command event) is sent")
        run(RUN, env)
        c.wait_records(2, path=analytics)

        step("3. DO_NOT_TRACK=1: nothing leaves the process")
        before = len(list(c.log_records(analytics)))
        run(RUN, {**env, "DO_NOT_TRACK": "1"})
        print(f"  collector received {len(list(c.log_records(analytics))) - before} new records")

        step("4. a crash (run --fail): a scrubbed exception record goes to the errors pipeline")
        run([*RUN, "--fail"], env)
        c.wait_records(1, path=data / "errors.jsonl")

        step("5. what the collector received")
        recs = list(c.log_records(analytics)) + list(c.log_records(data / "errors.jsonl"))
        res = recs[0]["resource"]
        print("  resource: " + ", ".join(f"{k}={v}" for k, v in res.items()))
        for r in recs:
            attrs = {
                k: (v if len(str(v)) < 60 else str(v)[:57] + "...")
                for k, v in r["attributes"].items()
                if k != "log.record.uid"
            }
            print(f"  {r['event_name']:<14} {attrs}")

    step("6. analytics: ingest into embedded chDB, then the report")
    db = ["--db", str(work / "analytics-db")]
    prodtel_cli = [sys.executable, "-m", "prodtel.cli.main"]
    subprocess.run([*prodtel_cli, "analytics", "ingest", *db, str(data)], check=True)
    subprocess.run(
        [
            *prodtel_cli,
            "analytics",
            "report",
            *db,
            "--app",
            "loadgen",
            "--html",
            str(work / "report.html"),
        ],
        check=True,
    )
    print(f"\nHTML report: {work / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
