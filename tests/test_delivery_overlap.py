"""A background POST does the worker's CPU work while the collector answers: the callback runs
after the request has left, its errors never fail the POST, and records queued meanwhile reach
the outbox before that POST's answer comes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from prodtel.delivery.result import ExportResult
from prodtel.delivery.transport import HttpTransport
from prodtel.delivery.worker import DRAIN_MAX
from tests.support.loopback import OTLPServer


class HeldServer(OTLPServer):
    """Answers 200, but only once `release` is set; `arrived` is set when a request is in."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        super().__init__()

    def _answer(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        self.arrived.set()
        self.release.wait(30)
        return 200, {}


def test_callback_runs_while_the_answer_is_pending() -> None:
    server = HeldServer()
    seen: list[bool] = []

    def work() -> None:
        seen.append(server.arrived.wait(5))  # the request is at the server, unanswered
        seen.append(server.release.is_set())
        server.release.set()

    try:
        t = HttpTransport(server.url + "/v1/logs", timeout=10)
        result, _ = t.post(b"", 10, while_waiting=work)
    finally:
        server.release.set()
        server.close()
    assert result is ExportResult.OK
    assert seen == [True, False]


def test_a_failing_callback_does_not_fail_the_post() -> None:
    server = HeldServer()
    server.release.set()

    def broken() -> None:
        raise RuntimeError("boom")

    try:
        result, _ = HttpTransport(server.url + "/v1/logs").post(b"", 10, while_waiting=broken)
    finally:
        server.close()
    assert result is ExportResult.OK


def test_worker_drains_into_the_outbox_during_a_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prodtel
    from prodtel import Attr, Catalog, Event

    monkeypatch.setenv("OVERLAP_TELEMETRY", "all")
    monkeypatch.setenv("PRODTEL_UPLOADER", "1")  # in-process: no detached uploader
    cat = Catalog("overlap", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Seq.")])])
    server = HeldServer()
    try:
        t = prodtel.init(cat, "1.0", endpoint=server.url, config_dir=str(tmp_path))
        assert t.worker is not None
        n = DRAIN_MAX + 3  # one drain takes DRAIN_MAX: 3 are left queued when the POST leaves
        with t.worker.lock:  # no drain before all are queued
            for i in range(n):
                prodtel.track("tick", seq=i)
        t.worker.wake.set()
        assert server.arrived.wait(10)  # the first POST is out, its answer held
        deadline = time.monotonic() + 5
        while t.worker.queue and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not t.worker.queue  # drained by the thread that waits for the answer
        assert not server.release.is_set()
        server.release.set()
        assert prodtel.flush(10)
        assert t.stats["sent"] == n
    finally:
        server.release.set()
        prodtel.shutdown(0.5)
        server.close()
