"""The background worker: owns the queue `track()` appends to, and the thread that empties it.

The worker drains the queue through the processors (gate, scrub, stamp) into a sink
(`prodtel.delivery.sinks`). The host app never waits on the network: at exit what is queued is
written to the outbox, one send is tried within the exit budget, and anything left is handed
to a detached uploader process (or the next run).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

from prodtel import atfork, pipeline
from prodtel.delivery.sinks import MAX_BATCH

DRAIN_MAX = MAX_BATCH  # records one drain takes from the queue

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from prodtel.delivery.exitplan import Handoff
    from prodtel.delivery.sinks import Sink
    from prodtel.record import Record
    from prodtel.spans import SpanData

    SpanStep = Callable[[list[Any]], list[SpanData]]


class Worker:
    """Owns the queue `track()` appends to, and the thread that empties it."""

    def __init__(
        self,
        processors: list[pipeline.Processor],
        sink: Sink,
        stats: dict[str, int],
        interval: float = 1.0,
        uploader: Callable[[Handoff | None], None] | None = None,
        span_pipeline: SpanStep | None = None,
    ) -> None:
        self.queue: deque[Record] = deque()
        self.spans: deque[Any] = deque()  # ended SDK spans (prodtel.otel), same road as records
        self.span_pipeline = span_pipeline
        self.processors = processors
        self.sink = sink
        if hasattr(sink, "while_waiting"):  # encode the next records while a POST is out
            sink.while_waiting = self._drain_while_waiting
        self.stats = stats
        self.interval = interval
        self.uploader = uploader  # called at exit when records remain unsent
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.warmed = threading.Event()  # set once the thread's warm-ups ran (tests wait on it)
        self.deadline: float | None = None
        self.lock = threading.Lock()
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self._fork_held: threading.Lock | None = None
        atfork.register(
            before=self._before_fork,
            after_in_parent=self._after_fork_parent,
            after_in_child=self._after_fork,
        )

    def start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="prodtel-export", daemon=True)
            self.thread.start()

    def _before_fork(self) -> None:
        """Hold the outbox lock across fork(): every SQLite call runs under it, so no thread
        is inside SQLite and the child cannot inherit a SQLite mutex nobody will release."""
        box = self.sink.outbox
        if box is not None:
            box.lock.acquire()
            self._fork_held = box.lock

    def _after_fork_parent(self) -> None:
        held, self._fork_held = self._fork_held, None
        if held is not None:
            held.release()

    def _after_fork(self) -> None:
        """In a forked child: the parent's thread is gone and its locks may be held. Start
        clean; the parent still owns (and sends) what was queued before the fork."""
        self._fork_held = None  # the child's outbox gets a new lock (forget)
        if self.deadline is not None:
            return
        self.queue = deque()
        self.spans = deque()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.warmed = threading.Event()
        self.pid = os.getpid()
        self.sink.after_fork()
        self.thread = None
        self.start()

    def _loop(self) -> None:
        # Warm up here, in the background, what would otherwise slow the exit path: the
        # scrubber's regexes, the SQLite connection. (Imports happen in `init()`, on the main
        # thread: a fork while this thread held the import lock would break the child.)
        warms = [getattr(p, "warm", None) for p in self.processors] + [self.sink.warm]
        for warm in warms:
            if warm is not None:
                try:
                    warm()
                except Exception as e:
                    self.last_error = repr(e)
        self.warmed.set()

        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            if self.deadline is not None:
                return  # shutting down: the exit path does the last drain and send
            try:
                if self.drain() == DRAIN_MAX or self.spans:
                    # More was queued than one drain takes: go on at once. (A wake-up that
                    # came in before `clear()` above, e.g. a flush's, would be lost otherwise.)
                    self.wake.set()
                if self.sink.send(None) and not self.queue and not self.spans:
                    self.idle.set()
            except Exception as e:  # never let telemetry kill the thread
                self.stats["internal_errors"] = self.stats.get("internal_errors", 0) + 1
                self.last_error = repr(e)

    def _drain_while_waiting(self) -> bool:
        """One drain; True if more is queued."""
        if self.deadline is None and self.queue:
            try:
                self.drain()
            except Exception as e:  # as in the loop: counted, never raised into the POST
                self.stats["internal_errors"] = self.stats.get("internal_errors", 0) + 1
                self.last_error = repr(e)
                return False
        return self.deadline is None and bool(self.queue)

    def drain(self) -> int:
        """Queue -> processors -> sink. CPU only, no network; `track()` calls it itself when
        the queue is full, so a burst slows the caller instead of losing events. Returns how
        many records it took (at most DRAIN_MAX)."""
        with self.lock:
            q = self.queue
            batch = [q.popleft() for _ in range(min(len(q), DRAIN_MAX))]
            if batch:
                records = pipeline.run(self.processors, batch)
                if records:
                    self.sink.write(records)
            sq = self.spans
            if sq:
                spans = [sq.popleft() for _ in range(min(len(sq), MAX_BATCH))]
                done = self.span_pipeline(spans) if self.span_pipeline is not None else []
                if done:
                    self.sink.write_spans(done)
            return len(batch)

    def drain_queued(self) -> None:
        """Drain what is queued now (not what other threads add meanwhile)."""
        for _ in range(len(self.queue) // DRAIN_MAX + 1):
            self.drain()

    def flush(self, timeout: float) -> bool:
        """Export now, retrying without backoff; wait up to `timeout` for everything queued
        to be delivered. False if something is still undelivered then."""
        deadline = time.monotonic() + timeout
        while True:
            self.idle.clear()
            self.sink.retry_now()
            self.wake.set()
            left = deadline - time.monotonic()
            if self.idle.wait(max(0.0, min(left, 0.25))):
                return True
            if left <= 0.25 or self.sink.waiting_for_name():
                return False  # a silent resolver: the exit hands the records over

    def shutdown(self, timeout: float) -> None:
        """At exit: what is queued goes to the outbox, one send is tried within `timeout`
        (unless the thread is already on the network), and what is left is handed to the
        detached uploader. Never waits longer than `timeout` plus the local writes."""
        self.deadline = time.monotonic() + timeout
        self.sink.exiting = True
        self.wake.set()
        if self.lock.acquire(timeout=max(timeout, 0.05)):  # held only for CPU work
            self.lock.release()
            self.drain()
        self.sink.persist_counters()
        self.sink.hand_over()
        # One send within the budget, unless the thread is on the network with those rows,
        # and only if its answer can come in time (see exitplan).
        done = self.sink.send(self.deadline, wait=False)
        handoff = self.sink.take_handoff()
        if not done and self.uploader is not None:
            self.uploader(handoff)
        elif handoff is not None:
            os.close(handoff.fd)  # no uploader: the rows' lease runs out, the next run sends
        if done:
            self.sink.close()
