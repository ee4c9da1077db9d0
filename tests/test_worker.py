"""The worker thread with an in-memory sink: scheduling only, no network."""

from __future__ import annotations

from typing import Any

from prodtel.delivery.sinks import Sink
from prodtel.delivery.worker import DRAIN_MAX, Worker


class Counting(Sink):
    def __init__(self) -> None:
        self.records = 0

    def write(self, records: list[Any]) -> None:
        self.records += len(records)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True


def test_a_queue_longer_than_one_drain_is_emptied_without_waiting_an_interval() -> None:
    """One wake-up for more than one drain's worth: the worker must not sleep its interval
    (here an hour) with records still queued (a flush's wake-up could be lost that way)."""
    sink = Counting()
    w = Worker([], sink, {}, interval=3600)
    w.queue.extend((0, 9, "e", {}, {}) for _ in range(DRAIN_MAX + 10))
    w.start()
    w.wake.set()
    assert w.idle.wait(60), f"{len(w.queue)} records left queued"
    assert sink.records == DRAIN_MAX + 10
    w.shutdown(0)
