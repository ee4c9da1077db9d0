"""Events tracked in multiprocessing workers arrive, exactly once: fork, spawn and forkserver
children, multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor. Each app is a real
process that exits on its own (no flush), against the real collector."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.collector import Collector

ROOT = Path(__file__).resolve().parents[1]
N = 400

# The parent starts telemetry; fork children inherit it, spawn and forkserver children start it
# in the pool's initializer (what the README asks of an app). Nobody calls flush().
APP = """
import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor

import prodtel
from prodtel import Attr, Catalog, Event

CAT = Catalog("mpapp", [Event("job", "A job ran.", attrs=[Attr("seq", int, "Which job.")])])


def start(endpoint, state):
    prodtel.init(CAT, "1.0", endpoint=endpoint, state_dir=state, config_dir=state + ".config")


def job(seq):
    prodtel.track("job", seq=seq)
    return seq


if __name__ == "__main__":
    kind, method, endpoint, state, n = sys.argv[1:6]
    start(endpoint, state)
    ctx = mp.get_context(method)
    init = None if method == "fork" else start
    if kind == "pool":
        pool = ctx.Pool(4, initializer=init, initargs=(endpoint, state))
        assert sorted(pool.map(job, range(int(n)), chunksize=7)) == list(range(int(n)))
        pool.close()
        pool.join()
    elif kind == "executor":
        with ProcessPoolExecutor(4, mp_context=ctx, initializer=init,
                                 initargs=(endpoint, state)) as ex:
            assert sorted(ex.map(job, range(int(n)), chunksize=7)) == list(range(int(n)))
    else:  # one Process per slice of jobs
        def run_slice(lo, hi):
            if init:
                init(endpoint, state)
            for i in range(lo, hi):
                job(i)
        step = int(n) // 4
        procs = [ctx.Process(target=run_slice, args=(i, i + step)) for i in range(0, int(n), step)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
            assert p.exitcode == 0
"""


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("pool", "fork"),
        ("pool", "spawn"),
        ("pool", "forkserver"),
        ("executor", "fork"),
        ("executor", "spawn"),
        ("process", "fork"),
    ],
)
def test_events_from_workers_arrive_exactly_once(
    tmp_path: Path, collector: Collector, kind: str, method: str
) -> None:
    script = tmp_path / "mpapp.py"
    script.write_text(APP)
    env = {**os.environ, "MPAPP_TELEMETRY": "all", "PYTHONPATH": str(ROOT / "src")}
    env.pop("PRODTEL_UPLOADER", None)  # the real exit path: what is left goes to the uploader
    p = subprocess.run(
        [
            sys.executable,
            str(script),
            kind,
            method,
            collector.endpoint,
            str(tmp_path / "s"),
            str(N),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    collector.wait_records(N, timeout=60)
    time.sleep(2)  # a late duplicate (a resend by the uploader) would land by now
    recs = list(collector.log_records())
    got = Counter(int(r["attributes"]["seq"]) for r in recs if r["event_name"] == "job")
    assert sorted(got) == list(range(N)), f"{N - len(got)} of {N} lost"
    assert [s for s, k in got.items() if k > 1] == [], "delivered twice"
