"""Delivery over real distances and broken resolvers: each record once, and an exit that never
waits for the network (a collector behind a delaying proxy; a resolver that never answers)."""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import dns, namespace
from tests.support.app import clean_env, sent_log
from tests.support.collector import Collector
from tests.support.delay_proxy import DelayProxy
from tests.support.loopback import free_port, wait_until

pytestmark = pytest.mark.e2e  # the real collector, real processes, a private resolver

# init, 3 ticks numbered from argv[2], then exit (optionally: disable, or a Sentry message).
APP = """
import sys, time
import prodtel
from prodtel import Attr, Catalog, Event
CAT = Catalog("deliv", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
mode = sys.argv[3] if len(sys.argv) > 3 else ""
dsn = sys.argv[1].replace("http://", "http://key@") + "/1"
extra = {"sentry_dsn": dsn} if mode == "sentry" else {}
prodtel.init(CAT, "1.0", endpoint=sys.argv[1], **extra)
for i in range(3):
    prodtel.track("tick", seq=int(sys.argv[2]) + i)
if mode == "sentry":
    prodtel.capture_exception(RuntimeError("boom"))
if mode == "disable":
    prodtel.current().disable()
print("END", time.time(), flush=True)
"""


def run_app(
    home: Path, endpoint: str, first: int, mode: str = "", wrap: list[str] | None = None
) -> float:
    """Run the app; seconds from the end of its work until it exited."""
    script = home / "app.py"
    script.write_text(APP)
    cmd = [sys.executable, str(script), endpoint, str(first), mode]
    env = clean_env(home, DELIV_TELEMETRY="all")
    p = subprocess.Popen(
        (wrap or []) + cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    p.wait(timeout=60)
    assert p.returncode == 0 and line.startswith("END"), p.stderr.read() if p.stderr else ""
    return time.time() - float(line.split()[1])


def ticks(c: Collector) -> tuple[collections.Counter[str], set[int]]:
    recs = [r for r in c.log_records() if r["event_name"] == "tick"]
    uids = collections.Counter(r["attributes"]["log.record.uid"] for r in recs)
    return uids, {r["attributes"]["seq"] for r in recs}


@pytest.mark.parametrize("delay_ms", [100, 300])
def test_far_collector_gets_each_record_once(tmp_path: Path, delay_ms: int) -> None:
    """The exit budget (20 ms) is far below the round trip: before, every record whose answer
    was late was released and sent again by the uploader."""
    runs = 10
    with (
        Collector(tmp_path / "c") as c,
        DelayProxy(("127.0.0.1", c.http_port), delay_ms) as proxy,
    ):
        for r in range(runs):
            run_app(tmp_path, proxy.url, r * 10)
        want = {r * 10 + i for r in range(runs) for i in range(3)}
        wait_until(lambda: ticks(c)[1] >= want, timeout=90)
        time.sleep(3)  # a second copy would come from an uploader still running
        uids, seqs = ticks(c)
    assert seqs == want, f"lost {sorted(want - seqs)}"
    assert [u for u, n in uids.items() if n > 1] == []


@pytest.mark.parametrize("mode", ["", "disable", "sentry"])
def test_silent_resolver_never_holds_the_exit(tmp_path: Path, mode: str) -> None:
    """A resolver that never answers costs glibc 5 s x 2 attempts per lookup: before, that
    landed on the exit (+10 s). Then, with a resolver that answers, the records arrive once."""
    namespace.require("a silent resolver")
    port = free_port()
    endpoint = f"http://telemetry.example.com:{port}"
    with dns.SilentResolver() as silent:
        took = run_app(tmp_path, endpoint, 0, mode, wrap=dns.resolver_cmd([], tmp_path))
        assert silent.queries, "the resolver was never asked: the test tests nothing"
    assert took < 3.0, f"exit took {took:.1f} s with a silent resolver"
    with (
        Collector(tmp_path / "c", http_port=port) as c,
        dns.AnsweringResolver({"telemetry.example.com"}),
    ):
        # The uploader (still trying) or this next run delivers what the first run left.
        run_app(tmp_path, endpoint, 10, wrap=dns.resolver_cmd([], tmp_path))
        want = {0, 1, 2, 10, 11, 12}
        wait_until(lambda: ticks(c)[1] >= want, timeout=60)
        time.sleep(2)
        uids, seqs = ticks(c)
    assert seqs == want
    assert [u for u, n in uids.items() if n > 1] == []


def test_show_lists_what_the_uploader_sent(tmp_path: Path) -> None:
    """Behind 300 ms the exit path cannot wait for an answer: the first run (no round trip
    known) hands its request's answer to the uploader; the second (known to be slow) leaves its
    rows to the uploader. Either way the records left, so the sent log must list them."""
    with (
        Collector(tmp_path / "c") as c,
        DelayProxy(("127.0.0.1", c.http_port), 300) as proxy,
    ):
        run_app(tmp_path, proxy.url, 0)  # answer handed over
        wait_until(lambda: ticks(c)[1] >= {0, 1, 2}, timeout=60)
        run_app(tmp_path, proxy.url, 10)  # rows left to the uploader
        want = {0, 1, 2, 10, 11, 12}
        wait_until(lambda: ticks(c)[1] >= want, timeout=60)
        # The sent log is written when the answer is read, a moment after the collector has it.
        wait_until(lambda: shown_ticks(tmp_path) >= want, timeout=30)
    assert shown_ticks(tmp_path) == want


def shown_ticks(home: Path) -> set[int]:
    return {e["attributes"]["seq"] for e in sent_log(home, "deliv") if e["event"] == "tick"}
