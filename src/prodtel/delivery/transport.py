"""OTLP/HTTP transport: POST one protobuf request, gzip on, and classify the answer.

2xx is delivered; 429, 5xx and network errors are retried (honouring Retry-After); any other
4xx is poison: the batch is dropped and counted, never retried.
"""

from __future__ import annotations

from prodtel.delivery import resolve
from prodtel.delivery.result import ExportResult, retry_after

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    import socket
    import ssl
    from collections.abc import Callable, Mapping

    from prodtel.delivery import plainhttp


def warm_imports(https: bool = True) -> None:
    """Import on the calling (main) thread what sending needs later, off the exit path, so no
    import ever runs on the worker thread (a fork during an import there breaks the child).
    Plain HTTP needs neither http.client nor ssl (10-20 ms of start-up): see plainhttp."""
    import gzip  # noqa: F401
    import select  # noqa: F401

    if https:
        import http.client  # noqa: F401
        import ssl  # noqa: F401

        "localhost".encode("idna")  # ssl encodes the server name with the idna codec
    else:
        import prodtel.delivery.plainhttp

    import prodtel.delivery.exitplan
    import prodtel.scrub
    import prodtel.sentlog  # noqa: F401


class HttpTransport:
    """POSTs to one OTLP/HTTP URL: through a forward proxy when the environment names one
    (CONNECT tunnel for https), with the app's CA bundle, client certificate and extra headers.

    `headers` may hold an ingest key: they are sent, never logged or shown. `timeout` is the
    per-request timeout off the exit path (the exit path passes its own, shorter one).
    `report`: called with the last error (None after a success) when it changes."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        ca_file: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        timeout: float = 10.0,
        report: Callable[[str | None], None] | None = None,
    ) -> None:
        from prodtel.delivery.proxy import find_proxy
        from prodtel.endpoint import split_url

        scheme, host, port, path, query = split_url(url)
        self.url = url
        self.https = scheme == "https"
        self.host = host or "127.0.0.1"
        self.port = port or (443 if self.https else 80)
        query = f"?{query}" if query else ""
        self.path = (path or "/v1/logs") + query
        # Spans go to the sibling traces path on the same connection (`.../v1/traces`).
        self.traces_path = (path or "/v1/logs").removesuffix("/v1/logs") + "/v1/traces" + query
        self.conn: http.client.HTTPConnection | plainhttp.Connection | None = None
        self.last_error: str | None = None
        self.timeout = timeout
        self.report = report
        self.reported: str | bool | None = False  # what `report` was told last (False: nothing)
        self.tls = (ca_file, client_cert, client_key)
        self.context: ssl.SSLContext | None = None
        self.headers = {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
            "User-Agent": "prodtel-python",
            **(headers or {}),
        }
        self.proxy = find_proxy(url)
        # Where the socket goes: the proxy if there is one (the collector's name is then the
        # proxy's to resolve), else the collector.
        if self.proxy is not None:
            self.connect_to = (self.proxy.host, self.proxy.port)
            if self.proxy.auth and not self.https:
                self.headers["Proxy-Authorization"] = self.proxy.auth
            if not self.https:  # a plain-HTTP proxy gets the absolute URL
                self.path = f"http://{self.host}:{self.port}{self.path}"
                self.traces_path = f"http://{self.host}:{self.port}{self.traces_path}"
        else:
            self.connect_to = (self.host, self.port)
        self.estimate: float | None = None  # seconds the last answered POST took
        self.pending_sock: socket.socket | None = None  # a request whose answer is late
        self.sent_at = 0.0  # monotonic time the last request started to leave
        resolve.prefetch(*self.connect_to)  # in the background, from init on

    def post(
        self,
        body: bytes,
        timeout: float,
        compressed: bool = False,
        keep_pending: bool = False,
        kind: str = "logs",
        while_waiting: Callable[[], object] | None = None,
    ) -> tuple[ExportResult, float]:
        """(the result, seconds to wait before retrying). `compressed`: already gzip.
        `keep_pending`: when the request left but no answer came within `timeout`, keep its
        socket in `pending_sock` (the answer is still to come) and return PENDING. `kind`
        "traces" posts to the traces path. `while_waiting`: CPU work to do once the request has
        left, while the collector works on it (its errors are ignored); called again while it
        returns true (more to do) and no answer has come."""
        import gzip
        import time

        data = body if compressed else gzip.compress(body, compresslevel=1)
        start = time.monotonic()
        try:
            conn = self._connect(timeout)
            if conn.sock is None:  # connect (and TLS) apart: `estimate` is the answer's time
                conn.connect()
            self.sent_at = sent = time.monotonic()
            path = self.traces_path if kind == "traces" else self.path
            conn.request("POST", path, data, self.headers)
            if while_waiting is not None:
                try:  # again while it returns true and the answer is not in yet
                    while while_waiting() and not _readable(conn, 0):
                        pass
                except Exception:
                    pass
            # The request left whole. Wait for the answer without reading a byte of it, so
            # that, if it is late, the socket can change hands intact (see exitplan).
            if keep_pending and not _readable(conn, timeout - (time.monotonic() - start)):
                self.pending_sock, conn.sock = conn.sock, None
                self.conn = None
                self.last_error = "answer pending"  # not reported: it may still succeed
                return ExportResult.PENDING, 0.0
            resp = conn.getresponse()
            resp.read()
        except _errors() as e:
            self.close()
            self._failed(f"{type(e).__name__}: {e}", timeout)
            return ExportResult.RETRY, 0.0
        self.estimate = time.monotonic() - sent  # one round trip plus the collector's work
        if 200 <= resp.status < 300:
            self._failed(None, timeout)
            return ExportResult.OK, 0.0
        self._failed(f"HTTP {resp.status} from the collector", timeout)
        if resp.status in (407, 429) or resp.status >= 500:  # 407: the proxy wants auth
            return ExportResult.RETRY, retry_after(resp.getheader("Retry-After"))
        return ExportResult.DROP, 0.0

    def _failed(self, error: str | None, timeout: float) -> None:
        """Remember the outcome; tell `report` when it changed. A short exit-budget attempt
        that timed out says nothing about the collector, so it is not reported."""
        self.last_error = error
        if self.report is None or error == self.reported or (error and timeout < 1.0):
            return
        self.reported = error
        try:
            self.report(error)
        except Exception:
            pass

    def resolved_now(self) -> bool:
        """The addresses of the host the socket goes to (the proxy, if any) are known
        (never blocks)."""
        return resolve.lookup(*self.connect_to) is not None

    def wait_resolved(self, timeout: float) -> bool:
        """Wait up to `timeout` for the host name's addresses, on an Event (never inside
        getaddrinfo, so an exit never waits for this thread)."""
        return resolve.wait(*self.connect_to, timeout) is not None

    def connected(self) -> bool:
        return self.conn is not None and self.conn.sock is not None

    def _connect(self, timeout: float) -> http.client.HTTPConnection | plainhttp.Connection:
        conn = self.conn
        if conn is None:
            host, port = self.connect_to
            if self.https:
                import http.client

                conn = http.client.HTTPSConnection(
                    host, port, timeout=timeout, context=self._tls_context()
                )
                if self.proxy is not None:
                    auth = {"Proxy-Authorization": self.proxy.auth} if self.proxy.auth else None
                    conn.set_tunnel(self.host, self.port, headers=auth)
            else:  # also through a plain-HTTP proxy: the path is then the absolute URL
                from prodtel.delivery import plainhttp

                conn = plainhttp.Connection(host, port, timeout=timeout)
            conn._create_connection = resolve.create_connection  # type: ignore[union-attr]
            self.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        """Built once, on first connect (loading CAs takes milliseconds): the app's CA bundle
        if set (else the system's, which honours SSL_CERT_FILE), and its client certificate."""
        if self.context is None:
            import ssl

            ca_file, cert, key = self.tls
            ctx = ssl.create_default_context(cafile=ca_file)
            if cert:
                ctx.load_cert_chain(cert, key)
            self.context = ctx
        return self.context

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def forget(self) -> None:
        """After fork: drop the parent's connection without touching its socket state."""
        self.conn = None


def _readable(conn: http.client.HTTPConnection | plainhttp.Connection, timeout: float) -> bool:
    import select

    sock = conn.sock
    if sock is None:
        return True  # let getresponse() report it
    if getattr(sock, "pending", lambda: 0)():  # TLS bytes already decrypted
        return True
    return bool(select.select([sock], [], [], max(timeout, 0.0))[0])


def _errors() -> tuple[type[Exception], ...]:
    """What a failed exchange raises: http.client's errors only if it is in use (https)."""
    import sys

    client = sys.modules.get("http.client")
    return (OSError, ValueError) if client is None else (OSError, ValueError, client.HTTPException)
