"""The background worker and the sinks behind it.

`track()` appends to the worker's queue. The worker drains it through the processors (gate,
scrub, stamp) into a sink. The outbox sink encodes a whole drain into one durable SQLite row,
then a sender posts the oldest rows over OTLP/HTTP. The host app never waits on the network:
at exit what is queued is written to the outbox, one send is tried within the exit budget,
and anything left is handed to a detached uploader process (or the next run).

A sink has `write(records)` and `send(deadline)` (True when nothing is left to send).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque

from prodtel import pipeline
from prodtel.record import NAME, TIME, merged
from prodtel.transport import OK, RETRY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from prodtel.encode import Encoder
    from prodtel.outbox import Batch, Outbox
    from prodtel.record import Record
    from prodtel.transport import HttpTransport

    class Sink(Protocol):
        def write(self, records: list[Record]) -> None: ...
        def send(self, deadline: float | None, wait: bool = True) -> bool: ...


# A stored request holds up to 4096 records or 1 MiB; a POST joins stored requests up to 16384
# records or 3 MiB uncompressed, under the collector's 4 MiB request limit.
MAX_BATCH, MAX_BATCH_BYTES = 4096, 1 << 20
MAX_POST, MAX_POST_BYTES = 16384, 3 << 20
override: Sink | None = None  # set by prodtel.testing.capture(): replaces every sink


def _count(stats: dict[str, int], key: str, n: int = 1) -> None:
    stats[key] = stats.get(key, 0) + n


class OutboxSink:
    """Encode into the outbox; send its oldest rows with backoff."""

    def __init__(
        self,
        encoder: Encoder,
        outbox: Outbox,
        transport: HttpTransport,
        stats: dict[str, int],
        state_dir: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.outbox = outbox
        self.transport = transport
        self.stats = stats
        self.state_dir = state_dir
        self.backoff_until = 0.0
        self.failures = 0
        self.send_lock = threading.Lock()
        self.drops: dict[str, int] = {}  # the app's validation/consent drops, to persist
        self.persisted: dict[str, int] = {}
        self.next_log = 0.0
        self.recent: dict[int, list[Record]] = {}
        self.held: set[int] = set()  # rows this process is backing off on

    def write(self, records: list[Record]) -> None:
        rows, chunks = self._encode(records)
        try:
            ids, dropped = self.outbox.put(rows, self._drop_deltas())
        except Exception as e:  # a broken state dir must never break the app
            self.persisted = {}  # retry persisting the counters next time
            _count(self.stats, "dropped_outbox_error", len(records))
            self.transport.last_error = f"outbox: {e}"
            return
        for k, v in dropped.items():
            _count(self.stats, k, v)
        if self.state_dir:  # the newest records of each row, for the sent log
            from prodtel.sentlog import KEEP_PER_BATCH

            for row_id, chunk in zip(ids, chunks, strict=True):
                self.recent[row_id] = chunk[-KEEP_PER_BATCH:]
            while len(self.recent) > 64:
                del self.recent[next(iter(self.recent))]

    def _encode(
        self, records: list[Record]
    ) -> tuple[list[tuple[bytes, int, int, int, int]], list[list[Record]]]:
        """Gzip-compressed requests of at most MAX_BATCH records or MAX_BATCH_BYTES each."""
        import gzip

        rows, chunks = [], []
        enc = self.encoder.log_record
        start, size = 0, 0
        parts: list[bytes] = []

        def cut(end: int) -> None:
            body = self.encoder.wrap(b"".join(parts))
            chunk = records[start:end]
            rows.append(
                (
                    gzip.compress(body, compresslevel=1),
                    len(chunk),
                    len(body),
                    chunk[0][TIME],
                    chunk[-1][TIME],
                )
            )
            chunks.append(chunk)

        for i, r in enumerate(records):
            b = enc(r)
            if parts and (len(parts) >= MAX_BATCH or size + len(b) > MAX_BATCH_BYTES):
                cut(i)
                start, parts, size = i, [], 0
            parts.append(b)
            size += len(b)
        if parts:
            cut(len(records))
        return rows, chunks

    def warm(self) -> None:
        self.outbox.open()

    def _drop_deltas(self) -> dict[str, int]:
        deltas = {k: v - self.persisted.get(k, 0) for k, v in self.drops.items()}
        self.persisted = dict(self.drops)
        return {k: v for k, v in deltas.items() if v}

    def retry_now(self) -> None:
        """An explicit flush: forget the backoff and retry held rows at once."""
        self.backoff_until = 0.0
        self.hand_over()

    def hand_over(self) -> None:
        """At exit: rows we were backing off on become available to the uploader and the
        next run right away."""
        if self.held:
            from prodtel.outbox import Batch

            try:
                self.outbox.release([Batch(i, b"", 0, 0) for i in self.held], 0.0)
            except Exception:
                pass
            self.held.clear()

    def persist_counters(self) -> None:
        """Store drop counts that no write carried yet, so `status` in any run sees them."""
        deltas = self._drop_deltas()
        if deltas:
            try:
                self.outbox.put([], deltas)
            except Exception:
                pass

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        """Deliver what the outbox holds; True when it is empty. `wait=False`: give up at
        once if another thread is sending."""
        if not self.send_lock.acquire(blocking=wait):
            return False
        try:
            return self._send(deadline)
        except Exception as e:
            self.transport.last_error = f"outbox: {e}"
            _count(self.stats, "internal_errors")
            return False
        finally:
            self.send_lock.release()

    def _send(self, deadline: float | None) -> bool:
        while True:
            now = time.monotonic()
            if deadline is None and now < self.backoff_until:
                return False
            timeout = 10.0 if deadline is None else deadline - now
            if timeout <= 0:
                return False
            batches = self.outbox.lease(MAX_POST, MAX_POST_BYTES)
            if not batches:
                return not self.held  # rows we are backing off on are not delivered yet
            body = b"".join(b.body for b in batches)  # gzip members concatenate
            result, after = self.transport.post(body, timeout, compressed=True)
            n = sum(b.count for b in batches)
            if result == RETRY:
                self.failures += 1
                delay = after or min(2.0 ** (self.failures - 1), 60.0)
                self.backoff_until = time.monotonic() + delay
                # held back for our own retry; at exit handed over at once (`hand_over`)
                self.outbox.release(batches, time.time() + (0 if deadline else delay))
                self.held.update(b.id for b in batches)
                _count(self.stats, "export_retries")
                return False
            self.failures = 0
            self.held.difference_update(b.id for b in batches)
            self.outbox.done(batches, "sent" if result == OK else "dropped_rejected")
            _count(self.stats, "sent" if result == OK else "dropped_rejected", n)
            if result == OK and self.state_dir:
                self._log_sent(batches, foreign_ok=deadline is None)

    def _log_sent(self, batches: list[Batch], foreign_ok: bool) -> None:
        """The sent log (`telemetry show`) gets the newest records of what was just sent.
        Rows this process wrote are logged from memory; rows other runs left are decoded,
        which imports protobuf, so only off the exit path and at most once a second."""
        from prodtel import sentlog

        assert self.state_dir
        mine = [self.recent.pop(b.id) for b in batches if b.id in self.recent]
        if mine:
            sentlog.append(self.state_dir, [r for chunk in mine for r in chunk])
        elif foreign_ok and time.monotonic() > self.next_log:
            self.next_log = time.monotonic() + 1.0
            sentlog.append_request(self.state_dir, batches[-1].body)

    def pending(self) -> int:
        return self.outbox.pending()

    def purge(self) -> int:
        return self.outbox.purge()

    def after_fork(self) -> None:
        self.outbox.forget()
        self.transport.forget()
        self.send_lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()
        self.outbox.close()


class DebugSink:
    """PRODTEL_DEBUG=1: print each record as it would be sent, on stderr; send nothing."""

    def __init__(self, resource: dict[str, str]) -> None:
        self.resource = resource
        self.printed_resource = False

    def write(self, records: list[Record]) -> None:
        import json

        if not self.printed_resource:
            print(f"[prodtel] resource {json.dumps(self.resource)}", file=sys.stderr)
            self.printed_resource = True
        for r in records:
            print(f"[prodtel] {r[NAME]} {json.dumps(merged(r), sort_keys=True)}", file=sys.stderr)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True


class NoEndpoint:
    """No endpoint configured: records are counted, never sent."""

    def __init__(self, stats: dict[str, int]) -> None:
        self.stats = stats

    def write(self, records: list[Record]) -> None:
        _count(self.stats, "no_endpoint", len(records))

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True


class Worker:
    """Owns the queue `track()` appends to, and the thread that empties it."""

    def __init__(
        self,
        processors: list[pipeline.Processor],
        sink: Sink,
        stats: dict[str, int],
        interval: float = 1.0,
        uploader: Any = None,
    ) -> None:
        self.queue: deque[Record] = deque()
        self.processors = processors
        self.sink = sink
        self.stats = stats
        self.interval = interval
        self.uploader = uploader  # called with no args at exit when records remain unsent
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.deadline: float | None = None
        self.lock = threading.Lock()
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()
        self._fork_held: threading.Lock | None = None
        os.register_at_fork(
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
        box = getattr(self.sink, "outbox", None)
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
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.pid = os.getpid()
        after = getattr(self.sink, "after_fork", None)
        if after is not None:
            after()
        self.thread = None
        self.start()

    def _loop(self) -> None:
        # Warm up here, in the background, what would otherwise slow the exit path: the
        # scrubber's regexes, the SQLite connection. (Imports happen in `init()`, on the main
        # thread: a fork while this thread held the import lock would break the child.)
        for part in (*self.processors, self.sink):
            warm = getattr(part, "warm", None)
            if warm is not None:
                try:
                    warm()
                except Exception as e:
                    self.last_error = repr(e)

        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            if self.deadline is not None:
                return  # shutting down: the exit path does the last drain and send
            try:
                self.drain()
                if self.sink.send(None) and not self.queue:
                    self.idle.set()
            except Exception as e:  # never let telemetry kill the thread
                _count(self.stats, "internal_errors")
                self.last_error = repr(e)

    def drain(self) -> None:
        """Queue -> processors -> sink. CPU only, no network; `track()` calls it itself when
        the queue is full, so a burst slows the caller instead of losing events."""
        with self.lock:
            q = self.queue
            batch = [q.popleft() for _ in range(min(len(q), MAX_BATCH * 4))]
            if batch:
                records = pipeline.run(self.processors, batch)
                if records:
                    self.sink.write(records)

    def flush(self, timeout: float) -> bool:
        """Export now, retrying without backoff; wait up to `timeout` for everything queued
        to be delivered. False if something is still undelivered then."""
        deadline = time.monotonic() + timeout
        retry_now = getattr(self.sink, "retry_now", None)
        while True:
            self.idle.clear()
            if retry_now is not None:
                retry_now()
            self.wake.set()
            left = deadline - time.monotonic()
            if self.idle.wait(max(0.0, min(left, 0.5))):
                return True
            if left <= 0.5:
                return False

    def shutdown(self, timeout: float) -> None:
        """At exit: what is queued goes to the outbox, one send is tried within `timeout`
        (unless the thread is already on the network), and what is left is handed to the
        detached uploader. Never waits longer than `timeout` plus the local writes."""
        self.deadline = time.monotonic() + timeout
        self.wake.set()
        if self.lock.acquire(timeout=max(timeout, 0.05)):  # held only for CPU work
            self.lock.release()
            self.drain()
        for hook in ("persist_counters", "hand_over"):
            fn = getattr(self.sink, hook, None)
            if fn is not None:
                fn()
        # One send within the budget, unless the thread is on the network with those rows.
        done = self.sink.send(self.deadline, wait=False)
        if not done and self.uploader is not None:
            self.uploader()
        close = getattr(self.sink, "close", None)
        if close is not None and done:
            close()
