"""OTLP/HTTP transport: POST one protobuf request, gzip on, and classify the answer.

2xx is delivered; 429, 5xx and network errors are retried (honouring Retry-After); any other
4xx is poison: the batch is dropped and counted, never retried.
"""

from __future__ import annotations

from prodtel.delivery import resolve
from prodtel.delivery.sinks import ExportResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    import socket


def warm_imports() -> None:
    """Import on the calling (main) thread what sending needs later, off the exit path, so no
    import ever runs on the worker thread (a fork during an import there breaks the child)."""
    import gzip  # noqa: F401
    import http.client  # noqa: F401
    import select  # noqa: F401

    import prodtel.delivery.exitplan
    import prodtel.scrub
    import prodtel.sentlog  # noqa: F401

    "localhost".encode("idna")  # connecting imports the idna codec


class HttpTransport:
    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.url = url
        self.https = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.https else 80)
        self.path = (u.path or "/v1/logs") + (f"?{u.query}" if u.query else "")
        self.conn: http.client.HTTPConnection | None = None
        self.last_error: str | None = None
        self.estimate: float | None = None  # seconds the last answered POST took
        self.pending_sock: socket.socket | None = None  # a request whose answer is late
        resolve.prefetch(self.host, self.port)  # in the background, from init on

    def post(
        self, body: bytes, timeout: float, compressed: bool = False, keep_pending: bool = False
    ) -> tuple[ExportResult, float]:
        """(the result, seconds to wait before retrying). `compressed`: already gzip.
        `keep_pending`: when the request left but no answer came within `timeout`, keep its
        socket in `pending_sock` (the answer is still to come) and return PENDING."""
        import gzip
        import http.client
        import time

        data = body if compressed else gzip.compress(body, compresslevel=1)
        start = time.monotonic()
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
            # The request left whole. Wait for the answer without reading a byte of it, so
            # that, if it is late, the socket can change hands intact (see exitplan).
            if keep_pending and not _readable(conn, timeout - (time.monotonic() - start)):
                self.pending_sock, conn.sock = conn.sock, None
                self.conn = None
                self.last_error = "answer pending"
                return ExportResult.PENDING, 0.0
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            self.last_error = f"{type(e).__name__}: {e}"
            return ExportResult.RETRY, 0.0
        self.estimate = time.monotonic() - start
        if 200 <= resp.status < 300:
            self.last_error = None
            return ExportResult.OK, 0.0
        self.last_error = f"HTTP {resp.status}"
        if resp.status == 429 or resp.status >= 500:
            return ExportResult.RETRY, retry_after(resp.getheader("Retry-After"))
        return ExportResult.DROP, 0.0

    def resolved_now(self) -> bool:
        """The host name's addresses are known (never blocks)."""
        return resolve.lookup(self.host, self.port) is not None

    def wait_resolved(self, timeout: float) -> bool:
        """Wait up to `timeout` for the host name's addresses, on an Event (never inside
        getaddrinfo, so an exit never waits for this thread)."""
        return resolve.wait(self.host, self.port, timeout) is not None

    def connected(self) -> bool:
        return self.conn is not None and self.conn.sock is not None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        import http.client

        conn = self.conn
        if conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self.conn = cls(self.host, self.port, timeout=timeout)
            conn._create_connection = resolve.create_connection  # type: ignore[attr-defined]
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def forget(self) -> None:
        """After fork: drop the parent's connection without touching its socket state."""
        self.conn = None


def _readable(conn: http.client.HTTPConnection, timeout: float) -> bool:
    import select

    sock = conn.sock
    if sock is None:
        return True  # let getresponse() report it
    if getattr(sock, "pending", lambda: 0)():  # TLS bytes already decrypted
        return True
    return bool(select.select([sock], [], [], max(timeout, 0.0))[0])


def retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds only), capped at 5 minutes."""
    try:
        return min(max(float(value or 0), 0.0), 300.0)
    except ValueError:
        return 0.0
