"""Sinks and the background worker that drains `track()`'s queue, runs the processors and
exports. The host app never waits on the network: exit waits at most `exit_timeout`."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

from prodtel import pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from collections.abc import Callable
    from typing import Protocol

    from prodtel.encode import Encoder
    from prodtel.record import Record

    class Sink(Protocol):
        def export(self, records: list[Record], timeout: float) -> tuple[int, float]: ...


OK, RETRY, DROP = 0, 1, 2
override: Sink | None = None  # set by prodtel.testing.capture(): replaces every sink
MAX_BATCH = 2048
MAX_PENDING = 100_000


class HttpSink:
    """OTLP/HTTP protobuf with gzip. 2xx is OK; 429/503/5xx and network errors retry
    (honouring Retry-After); any other 4xx is poison: dropped and counted, never retried."""

    def __init__(self, url: str, encoder: Encoder) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.https = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.https else 80)
        self.path = (u.path or "/v1/logs") + (f"?{u.query}" if u.query else "")
        self.encoder = encoder
        self.conn: object = None
        self.last_error: str | None = None

    def export(self, records: list[Record], timeout: float) -> tuple[int, float]:
        import gzip
        import http.client

        body = gzip.compress(self.encoder.encode(records), compresslevel=5)
        try:
            conn = self._connect(timeout)
            conn.request(
                "POST",
                self.path,
                body,
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
        if resp.status in (429, 502, 503, 504) or resp.status >= 500:
            return RETRY, _retry_after(resp.getheader("Retry-After"))
        return DROP, 0.0

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        import http.client

        conn = self.conn
        if conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = cls(self.host, self.port, timeout=timeout)
            self.conn = conn
        assert isinstance(conn, http.client.HTTPConnection)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()  # type: ignore[attr-defined]


class DebugSink:
    """PRODTEL_DEBUG=1: print each record as it would be sent, on stderr; send nothing."""

    def __init__(self, resource: dict[str, str]) -> None:
        self.resource = resource
        self.printed_resource = False

    def export(self, records: list[Record], timeout: float) -> tuple[int, float]:
        import json

        if not self.printed_resource:
            print(f"[prodtel] resource {json.dumps(self.resource)}", file=sys.stderr)
            self.printed_resource = True
        for r in records:
            print(f"[prodtel] {r.name} {json.dumps(r.attrs, sort_keys=True)}", file=sys.stderr)
        return OK, 0.0


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
        max_queue: int = MAX_PENDING,
    ) -> None:
        self.queue: deque[Record] = deque()
        self.processors = processors
        self.sink = sink
        self.stats = stats
        self.interval = interval
        self.max_queue = max_queue
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.pending: list[Record] = []
        self.backoff_until = 0.0
        self.failures = 0
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
                self.stats["internal_errors"] = self.stats.get("internal_errors", 0) + 1
                self.last_error = repr(e)
            if self.deadline is not None:
                return

    def cycle(self) -> None:
        """Drain the queue through the processors, then export what is pending."""
        with self.lock:
            q = self.queue
            batch = [q.popleft() for _ in range(len(q))]
            if batch:
                self.pending.extend(pipeline.run(self.processors, batch))
            over = len(self.pending) - self.max_queue
            if over > 0:  # oldest first, counted
                del self.pending[:over]
                self.stats["dropped_overflow"] = self.stats.get("dropped_overflow", 0) + over
            self._export()
            if not self.pending and not self.queue:
                self.idle.set()

    def _export(self) -> None:
        while self.pending:
            now = time.monotonic()
            if self.deadline is None and now < self.backoff_until:
                return
            timeout = 10.0 if self.deadline is None else self.deadline - now
            if timeout <= 0:
                return
            chunk = self.pending[:MAX_BATCH]
            result, after = self.sink.export(chunk, timeout)
            if result == RETRY:
                self.failures += 1
                delay = after or min(2.0 ** (self.failures - 1), 60.0)
                self.backoff_until = time.monotonic() + delay
                self.stats["export_retries"] = self.stats.get("export_retries", 0) + 1
                if self.deadline is not None:
                    return
                continue
            del self.pending[: len(chunk)]
            self.failures = 0
            key = "sent" if result == OK else "dropped_rejected"
            self.stats[key] = self.stats.get(key, 0) + len(chunk)

    def flush(self, timeout: float) -> bool:
        """Ask the thread to export now; wait up to `timeout` for the queue to empty."""
        self.idle.clear()
        self.backoff_until = 0.0
        self.wake.set()
        return self.idle.wait(timeout)

    def shutdown(self, timeout: float) -> None:
        """Last export attempt within `timeout` seconds; never waits longer."""
        self.deadline = time.monotonic() + timeout
        self.wake.set()
        t = self.thread
        if t is not None and t.is_alive():
            t.join(timeout)
        elif self.queue or self.pending:
            self.cycle()
        left = len(self.queue) + len(self.pending)
        if left:
            self.stats["unsent_at_exit"] = self.stats.get("unsent_at_exit", 0) + left
        close: Callable[[], None] | None = getattr(self.sink, "close", None)
        if close is not None and not (t is not None and t.is_alive()):
            close()
