"""Delivery that never hangs and never loses: the outbox, retries, faults, fork, kill -9."""

from __future__ import annotations

import gc
import os
import random
import signal
import sqlite3
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

import prodtel
from prodtel import Attr, Catalog, Event
from prodtel.delivery.outbox import Outbox
from tests.support.app import clean_env, loadgen, seen_notice
from tests.support.collector import Collector, collector_config, file_exporter
from tests.support.loopback import Receiver, ResetProxy, ScriptedServer, free_port, wait_until

CAT = Catalog("deliv", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
RUN = ("run", "--vus", "2", "--iterations", "4", "--duration", "1s")


@pytest.fixture
def telemetry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DELIV_TELEMETRY", "all")
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")  # in-process tests: no detached uploader
    yield tmp_path
    prodtel.shutdown(0.5)


def start(endpoint: str, state: Path) -> prodtel.Telemetry:
    return prodtel.init(CAT, "1.0", endpoint=endpoint, config_dir=str(state))


def seqs(records: list[dict]) -> list[int]:  # type: ignore[type-arg]
    return sorted(r["attributes"]["seq"] for r in records if r["event_name"] == "tick")


@pytest.mark.e2e
def test_collector_down_then_up_next_run_delivers_once(tmp_path: Path) -> None:
    seen_notice(tmp_path)
    port = free_port()
    env = clean_env(
        tmp_path, LOADGEN_TELEMETRY_ENDPOINT=f"http://127.0.0.1:{port}", PRODTEL_UPLOADER="1"
    )  # leave it to the next run, not the uploader
    first = loadgen(*RUN, env=env)
    assert first.returncode == 0 and first.seconds < 5
    assert Outbox(str(tmp_path / ".local/state/loadgen")).pending() == 2
    c = Collector(tmp_path / "c", http_port=port)
    with c:
        loadgen(*RUN, env=env)
        recs = c.wait_records(4)
        uids = [r["attributes"]["log.record.uid"] for r in recs]
        assert len(set(uids)) == 4  # both runs' report + command, exactly once after dedup
        assert {r["resource"]["session.id"] for r in recs}.__len__() == 2
    assert Outbox(str(tmp_path / ".local/state/loadgen")).pending() == 0


@pytest.mark.e2e
def test_detached_uploader_delivers_after_exit(tmp_path: Path) -> None:
    seen_notice(tmp_path)
    port = free_port()
    env = clean_env(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=f"http://127.0.0.1:{port}")
    r = loadgen(*RUN, env=env)
    assert r.returncode == 0 and r.seconds < 5
    with Collector(tmp_path / "c", http_port=port) as c:  # comes up after the app exited
        recs = c.wait_records(2, timeout=30)
        assert {x["event_name"] for x in recs} == {"usage_report", "command"}


# The collector acks only after its exporter delivered (no batch processor, no queue), so what
# it acked is safe downstream and what it had not acked must be retried by the SDK.
FORWARD = collector_config(
    {
        "otlp_http": {
            "logs_endpoint": "${env:DOWNSTREAM}/v1/logs",
            "compression": "none",
            "sending_queue": {"enabled": False},
            "retry_on_failure": {"enabled": False},
        }
    }
)


@pytest.mark.e2e
def test_collector_killed_mid_batch_loses_nothing(tmp_path: Path, telemetry_env: Path) -> None:
    downstream = Receiver()
    c = Collector(tmp_path / "c", config=FORWARD, env={"DOWNSTREAM": downstream.url})
    try:
        c.start()
        t = start(c.endpoint, telemetry_env)
        n = 30_000
        for i in range(n):
            prodtel.track("tick", seq=i)
            if i == n // 2:
                assert c.proc is not None
                c.proc.send_signal(signal.SIGKILL)  # whatever it was forwarding is not acked
                c.proc.wait()
        time.sleep(1)
        c.start()  # back, on the same port
        assert prodtel.flush(60)
        got = seqs(downstream.records)
        assert sorted(set(got)) == list(range(n)), f"lost {n - len(set(got))}"
        assert t.stats.get("export_retries", 0) >= 1
    finally:
        c.stop()
        downstream.close()


def test_connection_resets_are_retried(collector: Collector, telemetry_env: Path) -> None:
    proxy = ResetProxy(collector.http_port, resets=2)
    try:
        t = start(proxy.url, telemetry_env)
        for i in range(100):
            prodtel.track("tick", seq=i)
        assert wait_until(lambda: prodtel.flush(2), timeout=20)
        assert seqs(collector.wait_records(100)) == list(range(100))
        assert t.stats["export_retries"] >= 2 and proxy.connections >= 3
    finally:
        proxy.close()


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_honours_retry_after(telemetry_env: Path, status: int) -> None:
    server = ScriptedServer([(status, {"Retry-After": "2"})])
    try:
        t = start(server.url, telemetry_env)
        prodtel.track("tick", seq=1)
        assert wait_until(lambda: len(server.requests) >= 2 and prodtel.flush(0.1), timeout=15)
        (t1, s1, _), (t2, s2, _) = server.requests[:2]
        assert (s1, s2) == (status, 200)
        assert t2 - t1 >= 1.9, "retried before Retry-After"
        assert t.stats["sent"] == 1
    finally:
        server.close()


def test_other_4xx_is_poison_dropped_and_counted(telemetry_env: Path) -> None:
    server = ScriptedServer([(400, {})])
    try:
        t = start(server.url, telemetry_env)
        prodtel.track("tick", seq=1)
        assert prodtel.flush(5)
        prodtel.track("tick", seq=2)
        assert prodtel.flush(5)
        assert [s for _, s, _ in server.requests] == [400, 200]  # never retried
        assert t.stats["dropped_rejected"] == 1 and t.stats["sent"] == 1
        assert t.worker is not None
        assert Outbox(t.state_dir).counters()["dropped_rejected"] == 1
    finally:
        server.close()


def wait_child(pid: int, timeout: float = 20) -> int:
    """The forked child's exit code; fails the test if it hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("forked child deadlocked")


def test_fork_does_not_deadlock_or_duplicate(collector: Collector, telemetry_env: Path) -> None:
    start(collector.endpoint, telemetry_env)
    for i in range(50):
        prodtel.track("tick", seq=i)
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            for i in range(1000, 1050):
                prodtel.track("tick", seq=i)
            code = 0 if prodtel.flush(10) else 2
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    assert prodtel.flush(10)
    recs = collector.wait_records(100)
    assert seqs(recs) == list(range(50)) + list(range(1000, 1050))  # each exactly once
    assert len({r["attributes"]["log.record.uid"] for r in recs}) == 100


def test_repeated_init_frees_old_workers_and_fork_still_works(
    collector: Collector, telemetry_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fork hooks cannot be unregistered: they hold the Worker and the Stamp weakly, so each
    init()/shutdown() cycle's worker (queue, sink, outbox) is freed, the dead ones' hooks stay
    silent, and the live worker's hooks still restart delivery in a forked child."""
    old: list[weakref.ref[object]] = []
    for i in range(20):
        t = start(collector.endpoint, telemetry_env)
        w = t.worker
        assert w is not None and w.thread is not None
        old += [weakref.ref(w), weakref.ref(w.processors[-1])]  # the Worker and its Stamp
        prodtel.track("tick", seq=i)
        prodtel.shutdown(2)
        thread = w.thread
        del t, w
        thread.join(5)  # a running thread holds its worker until its loop returns
    gc.collect()
    assert [r for r in old if r() is not None] == []

    start(collector.endpoint, telemetry_env)
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)  # a fork hook that raised
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            prodtel.track("tick", seq=1000)
            code = 3 if unraisable else 0 if prodtel.flush(10) else 2
        finally:
            os._exit(code)
    assert wait_child(pid) == 0
    recs = collector.wait_records(21)
    assert seqs(recs) == [*range(20), 1000]
    assert len({r["attributes"]["log.record.uid"] for r in recs}) == 21


def test_kill_9_during_outbox_writes_leaves_it_readable(tmp_path: Path) -> None:
    rng = random.Random(7)
    state = tmp_path / "state"
    body = b"\x1f\x8b" + os.urandom(4000)
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            box = Outbox(str(state), max_records=5000)
            while True:
                box.put([(body, 10, 4000, 1, 2)] * rng.randint(1, 5), {"sent": 1})
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not (state / "outbox.sqlite3").exists():
            continue  # killed before it created anything
        db = sqlite3.connect(state / "outbox.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    box = Outbox(str(state), max_records=5000)
    assert 0 < box.pending() <= 5000
    assert box.counters()["dropped_overflow"] > 0  # the cap held, and counted what it dropped


def test_processes_opening_a_new_outbox_together_all_get_it(tmp_path: Path) -> None:
    """Six processes open a fresh outbox at once, 100 times: SQLite answers one of two racing
    lock upgrades "database is locked" without waiting (about 1 open in 40 failed so, and
    a `telemetry pending` run beside the app's own worker printed the error)."""
    failed = 0
    for round_ in range(100):
        state = tmp_path / f"s{round_}"
        r, w = os.pipe()
        pids = []
        for _ in range(6):
            pid = os.fork()
            if pid == 0:  # wait for the start signal, then open
                os.close(w)
                os.read(r, 1)
                try:
                    Outbox(str(state)).open()
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            pids.append(pid)
        os.close(r)
        os.write(w, b"go" * 6)  # each child reads one byte
        os.close(w)
        failed += sum(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0 for pid in pids)
    assert failed == 0


BIG = Catalog(
    "deliv",
    [
        Event(
            "tick",
            "A tick.",
            attrs=[Attr("seq", int, "Sequence."), Attr("blob", str, "Big.", max_length=40_000)],
        )
    ],
)
LIMITED = collector_config(file_exporter(), http={"max_request_body_size": 4194304})


@pytest.mark.e2e
def test_requests_stay_under_the_collectors_size_limit(tmp_path: Path, telemetry_env: Path) -> None:
    with Collector(tmp_path / "c", config=LIMITED) as c:
        t = prodtel.init(BIG, "1.0", endpoint=c.endpoint, config_dir=str(telemetry_env))
        blob = "".join(random.Random(1).choices("abcdefghij", k=32_000))  # ~32 KB, like a trace
        for i in range(600):  # ~19 MB in all
            prodtel.track("tick", seq=i, blob=blob)
        assert prodtel.flush(60)
        assert seqs(c.wait_records(600, timeout=30)) == list(range(600))
        assert "dropped_rejected" not in t.stats


def test_disable_in_another_process_stops_this_one(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running process sees `telemetry disable` from a shell: nothing it records
    after the disable leaves (what it recorded before still does)."""
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")
    (tmp_path / "telemetry.json").write_text('{"notice_shown_at": "2026-01-01"}')
    t = start(collector.endpoint, tmp_path)
    for i in range(10):
        prodtel.track("tick", seq=i)
    assert prodtel.flush(10)
    time.sleep(1.1)  # the worker looks at the consent file at most once a second
    from prodtel.config import Settings
    from prodtel.telemetry import Telemetry

    other = Telemetry(Settings(CAT, "1.0", config_dir=str(tmp_path)))  # the shell's process
    other.disable(source="command")
    other.shutdown(0.5)
    for i in range(10, 20):
        prodtel.track("tick", seq=i)
    time.sleep(1.1)
    prodtel.flush(3)
    assert seqs(collector.wait_records(10)) == list(range(10))
    time.sleep(0.5)
    assert seqs(list(collector.log_records())) == list(range(10))
    assert t.decision.level_name == "off"
