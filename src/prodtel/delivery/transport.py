"""OTLP/HTTP transport: POST one protobuf request, gzip on, and classify the answer.

2xx is delivered; 429, 5xx and network errors are retried (honouring Retry-After); any other
4xx is poison: the batch is dropped and counted, never retried.
"""

from __future__ import annotations

from prodtel.delivery.sinks import ExportResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client


def warm_imports() -> None:
    """Import on the calling (main) thread what sending needs later, off the exit path, so no
    import ever runs on the worker thread (a fork during an import there breaks the child)."""
    import gzip  # noqa: F401
    import http.client  # noqa: F401

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
        query = f"?{u.query}" if u.query else ""
        self.path = (u.path or "/v1/logs") + query
        # Spans go to the sibling traces path on the same connection (`.../v1/traces`).
        self.traces_path = (u.path or "/v1/logs").removesuffix("/v1/logs") + "/v1/traces" + query
        self.conn: http.client.HTTPConnection | None = None
        self.last_error: str | None = None

    def post(
        self, body: bytes, timeout: float, compressed: bool = False, kind: str = "logs"
    ) -> tuple[ExportResult, float]:
        """(the result, seconds to wait before retrying). `compressed`: already gzip. `kind`
        "traces" posts to the traces path."""
        import gzip
        import http.client

        data = body if compressed else gzip.compress(body, compresslevel=1)
        try:
            conn = self._connect(timeout)
            conn.request(
                "POST",
                self.traces_path if kind == "traces" else self.path,
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
            return ExportResult.RETRY, 0.0
        if 200 <= resp.status < 300:
            self.last_error = None
            return ExportResult.OK, 0.0
        self.last_error = f"HTTP {resp.status}"
        if resp.status == 429 or resp.status >= 500:
            return ExportResult.RETRY, retry_after(resp.getheader("Retry-After"))
        return ExportResult.DROP, 0.0

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

    def forget(self) -> None:
        """After fork: drop the parent's connection without touching its socket state."""
        self.conn = None


def retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds only), capped at 5 minutes."""
    try:
        return min(max(float(value or 0), 0.0), 300.0)
    except ValueError:
        return 0.0
