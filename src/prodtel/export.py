"""Sinks, and the background worker that drains `track()`'s queue, runs the processors and
hands the records to a sink. The host app never waits on the network: exit waits at most
`exit_timeout`.

A sink has `write(records)` (take processed records) and `send(deadline)` (deliver what it
holds; True when nothing is left).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

from prodtel import pipeline
from prodtel.record import NAME, merged

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from typing import Protocol

    from prodtel.encode import Encoder
    from prodtel.record import Record

    class Sink(Protocol):
        def write(self, records: list[Record]) -> None: ...
        def send(self, deadline: float | None) -> bool: ...


OK, RETRY, DROP = 0, 1, 2
MAX_BATCH = 4096
MAX_PENDING = 100_000
override: Sink | None = None  # set by prodtel.testing.capture(): replaces every sink


def _count(stats: dict[str, int], key: str, n: int = 1) -> None:
    stats[key] = stats.get(key, 0) + n


class HttpSink:
    """OTLP/HTTP protobuf with gzip, in batches. 2xx is delivered; 429, 5xx and network errors
    retry with backoff (honouring Retry-After); any other 4xx is poison: dropped and counted,
    never retried."""

    def __init__(
        self, url: str, encoder: Encoder, stats: dict[str, int], state_dir: str | None = None
    ) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.https = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.https else 80)
        self.path = (u.path or "/v1/logs") + (f"?{u.query}" if u.query else "")
        self.encoder = encoder
        self.stats = stats
        self.pending: deque[bytes] = deque()
        self.records: deque[Record] = deque()  # the same records, for the sent log
        self.state_dir = state_dir
        self.conn: http.client.HTTPConnection | None = None
        self.last_error: str | None = None
        self.backoff_until = 0.0
        self.failures = 0

    def write(self, records: list[Record]) -> None:
        enc = self.encoder.log_record
        self.pending.extend(enc(r) for r in records)
        self.records.extend(records)
        over = len(self.pending) - MAX_PENDING
        if over > 0:  # oldest first, counted
            for _ in range(over):
                self.pending.popleft()
                self.records.popleft()
            _count(self.stats, "dropped_overflow", over)

    def send(self, deadline: float | None) -> bool:
        while self.pending:
            now = time.monotonic()
            if deadline is None and now < self.backoff_until:
                return False
            timeout = 10.0 if deadline is None else deadline - now
            if timeout <= 0:
                return False
            n = min(len(self.pending), MAX_BATCH)
            body = self.encoder.request(self.pending[i] for i in range(n))
            result, after = self.post(body, timeout)
            if result == RETRY:
                self.failures += 1
                self.backoff_until = time.monotonic() + (
                    after or min(2.0 ** (self.failures - 1), 60.0)
                )
                _count(self.stats, "export_retries")
                return False
            sent = [self.records.popleft() for _ in range(n)]
            for _ in range(n):
                self.pending.popleft()
            self.failures = 0
            _count(self.stats, "sent" if result == OK else "dropped_rejected", n)
            if result == OK and self.state_dir:
                from prodtel import sentlog

                sentlog.append(self.state_dir, sent)
        return True

    def post(self, body: bytes, timeout: float) -> tuple[int, float]:
        import gzip
        import http.client

        data = gzip.compress(body, compresslevel=1)
        try:
            conn = self._connect(timeout)
            conn.request(
                "POST",
                self.path,
                data,
                {
                    "Content-Type": "application/x-protobuf",
                    "Content-Encoding": "gzip",
                    "User-Agent": "prodtel-python",
                },
            )
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            self.last_error = f"{type(e).__name__}: {e}"
            return RETRY, 0.0
        if 200 <= resp.status < 300:
            self.last_error = None
            return OK, 0.0
        self.last_error = f"HTTP {resp.status}"
        if resp.status == 429 or resp.status >= 500:
            return RETRY, _retry_after(resp.getheader("Retry-After"))
        return DROP, 0.0

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        import http.client

        conn = self.conn
        if conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self.conn = cls(self.host, self.port, timeout=timeout)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


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

    def send(self, deadline: float | None) -> bool:
        return True


class NoEndpoint:
    """No endpoint configured: records are counted, never sent."""

    def __init__(self, stats: dict[str, int]) -> None:
        self.stats = stats

    def write(self, records: list[Record]) -> None:
        _count(self.stats, "no_endpoint", len(records))

    def send(self, deadline: float | None) -> bool:
        return True


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), 300.0)
    except ValueError:
        return 0.0


class Worker:
    """Owns the queue `track()` appends to, and the thread that empties it."""

    def __init__(
        self,
        processors: list[pipeline.Processor],
        sink: Sink,
        stats: dict[str, int],
        interval: float = 1.0,
    ) -> None:
        self.queue: deque[Record] = deque()
        self.processors = processors
        self.sink = sink
        self.stats = stats
        self.interval = interval
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.deadline: float | None = None
        self.lock = threading.Lock()
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="prodtel-export", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.cycle()
            except Exception as e:  # never let telemetry kill the thread
                _count(self.stats, "internal_errors")
                self.last_error = repr(e)
            if self.deadline is not None:
                return

    def cycle(self) -> None:
        """Drain the queue through the processors into the sink, then let the sink send."""
        with self.lock:
            q = self.queue
            batch = [q.popleft() for _ in range(len(q))]
            if batch:
                records = pipeline.run(self.processors, batch)
                if records:
                    self.sink.write(records)
            if self.sink.send(self.deadline) and not self.queue:
                self.idle.set()

    def flush(self, timeout: float) -> bool:
        """Ask the thread to export now; wait up to `timeout` for everything to leave."""
        self.idle.clear()
        backoff = getattr(self.sink, "backoff_until", None)
        if backoff is not None:
            self.sink.backoff_until = 0.0  # type: ignore[attr-defined]
        self.wake.set()
        return self.idle.wait(timeout)

    def shutdown(self, timeout: float) -> None:
        """Last export attempt within `timeout` seconds; never waits longer."""
        self.deadline = time.monotonic() + timeout
        self.wake.set()
        t = self.thread
        if t is not None and t.is_alive():
            t.join(timeout)
        else:
            self.cycle()
        left = len(self.queue) + len(getattr(self.sink, "pending", ()))
        if left:
            _count(self.stats, "unsent_at_exit", left)
        close = getattr(self.sink, "close", None)
        if close is not None and not (t is not None and t.is_alive()):
            close()
