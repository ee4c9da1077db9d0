"""The outbox sink: encode a whole drain into durable SQLite rows, then post the oldest rows
over OTLP/HTTP with backoff, following the exit plan (delivery/exitplan.py) at exit."""

from __future__ import annotations

import threading
import time

from prodtel.counters import count
from prodtel.delivery.result import ExportResult
from prodtel.delivery.sinks import (
    MAX_BATCH,
    MAX_BATCH_BYTES,
    MAX_POST,
    MAX_POST_BYTES,
    MAX_SPANS,
    Sink,
)
from prodtel.record import TIME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from prodtel.delivery.encode import Encoder
    from prodtel.delivery.exitplan import Handoff
    from prodtel.delivery.outbox import Batch, Outbox
    from prodtel.delivery.transport import HttpTransport
    from prodtel.record import Record
    from prodtel.spans import SpanData


class OutboxSink(Sink):
    """Encode into the outbox; send its oldest rows with backoff."""

    outbox: Outbox

    def __init__(
        self,
        encoder: Encoder,
        outbox: Outbox,
        transport: HttpTransport,
        stats: dict[str, int],
        state_dir: str | None = None,
        log_foreign: bool = False,
    ) -> None:
        self.encoder = encoder
        # The uploader: every sent row that another process wrote goes to the sent log (an app
        # decodes such rows only off its exit path, and at most once a second).
        self.log_foreign = log_foreign
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
        self.recent_spans: dict[int, list[SpanData]] = {}
        self.held: set[int] = set()  # rows this process is backing off on
        self.in_flight: list[Batch] = []  # sent at exit, answer late: kept leased (exitplan)
        self.saved_estimate: float | None = None
        # CPU work (the worker's drain) done while a background POST awaits its answer
        self.while_waiting: Callable[[], object] | None = None

    def write(self, records: list[Record]) -> None:
        rows, chunks = self._encode(records)
        try:
            ids, dropped = self.outbox.put(rows, self._drop_deltas())
        except Exception as e:  # a broken state dir must never break the app
            self.persisted = {}  # retry persisting the counters next time
            count(self.stats, "dropped_outbox_error", len(records))
            self.transport.last_error = f"outbox: {e}"
            return
        for k, v in dropped.items():
            count(self.stats, k, v)
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

    def write_spans(self, spans: list[SpanData]) -> None:
        """Encode as OTLP traces requests (stored with kind "traces", posted to /v1/traces)."""
        import gzip

        rows, chunks = [], []
        todo = [spans[i : i + MAX_SPANS] for i in range(0, len(spans), MAX_SPANS)]
        while todo:
            chunk = todo.pop(0)
            body = self.encoder.traces(chunk)
            if len(body) > MAX_BATCH_BYTES and len(chunk) > 1:  # split until it fits
                half = len(chunk) // 2
                todo[:0] = [chunk[:half], chunk[half:]]
                continue
            ends = [sp.end for sp in chunk]
            rows.append(
                (gzip.compress(body, compresslevel=1), len(chunk), len(body), min(ends), max(ends))
            )
            chunks.append(chunk)
        try:
            ids, dropped = self.outbox.put(rows, self._drop_deltas(), kind="traces")
        except Exception as e:  # a broken state dir must never break the app
            self.persisted = {}
            count(self.stats, "dropped_outbox_error", len(spans))
            self.transport.last_error = f"outbox: {e}"
            return
        for k, v in dropped.items():
            count(self.stats, k, v)
        if self.state_dir:
            from prodtel.sentlog import KEEP_PER_BATCH

            for row_id, chunk in zip(ids, chunks, strict=True):
                self.recent_spans[row_id] = chunk[-KEEP_PER_BATCH:]
            while len(self.recent_spans) > 64:
                del self.recent_spans[next(iter(self.recent_spans))]

    def warm(self) -> None:
        self.outbox.open()
        if self.transport.estimate is None:  # what a POST took in an earlier run
            from prodtel.delivery import exitplan

            self.transport.estimate = exitplan.load(self.state_dir, self.transport.url)
            self.saved_estimate = self.transport.estimate

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
            from prodtel.delivery.outbox import Batch

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
            count(self.stats, "internal_errors")
            return False
        finally:
            self.send_lock.release()

    def _send(self, deadline: float | None) -> bool:
        while True:
            now = time.monotonic()
            if deadline is None and now < self.backoff_until:
                return False
            timeout = self.transport.timeout if deadline is None else deadline - now
            if timeout <= 0:
                return False
            if self.exiting and not self._may_post_at_exit(timeout):
                return not self.held and self.outbox.pending() == 0  # left to the uploader
            if not self.transport.wait_resolved(timeout):  # lease nothing while unresolved
                if self.outbox.pending() == 0:
                    return not self.held
                self.failures += 1
                self.backoff_until = time.monotonic() + min(2.0 ** (self.failures - 1), 60.0)
                count(self.stats, "export_retries")
                return False
            batches = self.outbox.lease(MAX_POST, MAX_POST_BYTES)
            if not batches:
                return not self.held  # rows we are backing off on are not delivered yet
            body = b"".join(b.body for b in batches)  # gzip members concatenate
            result, after = self.transport.post(
                body,
                timeout,
                compressed=True,
                keep_pending=self.exiting,
                kind=batches[0].kind,
                while_waiting=self.while_waiting if deadline is None else None,
            )
            n = sum(b.count for b in batches)
            if result is ExportResult.PENDING:  # it may still succeed: keep the lease
                self.in_flight = batches
                # The answer takes at least this long: later runs hand over at once instead
                # of waiting out their budget too (the uploader saves the real time).
                from prodtel.delivery import exitplan

                waited = time.monotonic() - self.transport.sent_at
                exitplan.save(self.state_dir, self.transport.url, waited)
                return False
            if result is ExportResult.RETRY:
                self.failures += 1
                delay = after or min(2.0 ** (self.failures - 1), 60.0)
                self.backoff_until = time.monotonic() + delay
                # held back for our own retry; at exit handed over at once (`hand_over`)
                self.outbox.release(batches, time.time() + (0 if deadline else delay))
                self.held.update(b.id for b in batches)
                count(self.stats, "export_retries")
                return False
            self.failures = 0
            self.held.difference_update(b.id for b in batches)
            ok = result is ExportResult.OK
            if ok and self.state_dir:  # before the rows go: once gone, `show` lists them
                self._log_sent(batches, foreign_ok=deadline is None)
            self.outbox.done(batches, "sent" if ok else "dropped_rejected")
            count(self.stats, "sent" if ok else "dropped_rejected", n)
            if not self.exiting:
                self._save_estimate()

    def waiting_for_name(self) -> bool:
        return not self.transport.resolved_now()

    def _may_post_at_exit(self, budget: float) -> bool:
        from prodtel.delivery import exitplan

        t = self.transport
        return t.resolved_now() and exitplan.may_post(budget, t.estimate, t.connected(), t.https)

    def _save_estimate(self) -> None:
        """Persist what a POST takes, when it changed by a quarter or more (few writes)."""
        est, old = self.transport.estimate, self.saved_estimate
        if est is not None and (old is None or abs(est - old) > max(old, 0.002) / 4):
            from prodtel.delivery import exitplan

            exitplan.save(self.state_dir, self.transport.url, est)
            self.saved_estimate = est

    def take_handoff(self) -> Handoff | None:
        """The late request's socket, duplicated as an inheritable fd, and its rows."""
        sock, self.transport.pending_sock = self.transport.pending_sock, None
        batches, self.in_flight = self.in_flight, []
        if sock is None or not batches:
            return None
        import os

        from prodtel.delivery.exitplan import Handoff

        try:
            if not hasattr(os, "posix_spawn"):
                return None
            import time

            fd = os.dup(sock.fileno())
            os.set_inheritable(fd, True)
            sent = time.time() - (time.monotonic() - self.transport.sent_at)
            return Handoff(fd, [b.id for b in batches], sent)
        except OSError:
            return None
        finally:
            sock.close()

    def _log_sent(self, batches: list[Batch], foreign_ok: bool) -> None:
        """The sent log (`telemetry show`) gets the newest records of what was just sent.
        Rows this process wrote are logged from memory; rows other runs left are decoded,
        which imports protobuf: in the uploader always, in an app only off the exit path and
        at most once a second."""
        from prodtel import sentlog

        assert self.state_dir
        foreign = [
            (b.kind, b.body)
            for b in batches
            if b.id not in self.recent and b.id not in self.recent_spans
        ]
        spans = [self.recent_spans.pop(b.id) for b in batches if b.id in self.recent_spans]
        if spans:
            sentlog.append_spans(self.state_dir, [s for chunk in spans for s in chunk])
        mine = [self.recent.pop(b.id) for b in batches if b.id in self.recent]
        if mine:
            sentlog.append(self.state_dir, [r for chunk in mine for r in chunk])
        if not foreign:
            return
        if self.log_foreign:
            sentlog.append_requests(self.state_dir, foreign)
        elif foreign_ok and time.monotonic() > self.next_log:
            self.next_log = time.monotonic() + 1.0
            sentlog.append_requests(self.state_dir, foreign[-1:])

    def pending(self) -> int:
        return self.outbox.pending()

    def problems(self) -> list[str]:
        return [self.outbox.problem] if self.outbox.problem else []

    def purge(self) -> int:
        return self.outbox.purge()

    def after_fork(self) -> None:
        self.outbox.forget()
        self.transport.forget()
        self.send_lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()
        self.outbox.close()
