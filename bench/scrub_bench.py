"""Scrubbing cost: the SDK's Scrubber on a message per KB and on a typical stack trace, medians.

    .venv/bin/python bench/scrub_bench.py                       # this checkout
    PYTHONPATH=/path/to/other/src .venv/bin/python bench/scrub_bench.py   # another version

Inputs are fixed text (no secrets in most of it, as in real exception messages): a 1 KB and a
16 KB message mixing prose, paths, numbers and one token, and a 25-frame Python traceback.
"""

from __future__ import annotations

import argparse
import statistics
import time

from prodtel.scrub import Scrubber

VALUES = {"home": "/home/alice", "user": "alice", "host": "alice-laptop", "host_short": "alice"}
LINE = (
    "request to https://api.example.com/v2/items?page=3 failed after 1.52s with status 503 "
    "(retry 2/5), cache /var/cache/app/3f2a9c1b.json, version 1.2.3-rc.1, port 8443; "
)
TOKEN = "token ghp_16C7e42F292c6912E7710c838347Ae178B4a for bob@example.com\n"


def message(kb: int) -> str:
    text = (LINE * (kb * 1024 // len(LINE) + 1))[: kb * 1024 - len(TOKEN)]
    return text + TOKEN


def traceback_text(frames: int = 25) -> str:
    out = ["Traceback (most recent call last):"]
    for i in range(frames):
        out.append(
            f'  File "/home/alice/venv/lib/python3.11/site-packages/pkg/mod{i}.py", '
            f"line {10 + i * 7}, in handler_{i}"
        )
        out.append(f"    result = self.process(item, retries={i}, timeout=30.0)")
    out.append("ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): timed out")
    return "\n".join(out)


def median_us(fn: object, text: str, repeat: int, number: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(text)  # type: ignore[operator]
        runs.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    scrub = Scrubber(values=VALUES)
    tb = traceback_text()
    rows = [
        ("message 1 KB", message(1), 200, 1),
        ("message 16 KB", message(16), 20, 16),
        (f"stack trace ({len(tb)} B, 25 frames)", tb, 100, 1),
    ]
    print(f"{'input':<32} {'median':>10} {'per KB':>10}")
    for name, text, number, kb in rows:
        us = median_us(scrub, text, args.repeat, number)
        print(f"{name:<32} {us:>8.0f}us {us / (len(text) / 1024 if kb == 1 else kb):>8.0f}us")


if __name__ == "__main__":
    main()
