"""One HTTP/1.1 connection for plain-HTTP POSTs, with the slice of http.client's interface the
transport uses (`connect`, `request`, `getresponse`, `sock`, `timeout`, `close`).

`import http.client` costs 10-20 ms (it imports email's parser and ssl), most of a short run's
start-up, and plain HTTP needs neither. HTTPS still goes through http.client (TLS, tunnels).
Only what an OTLP/HTTP exchange needs: one request at a time, keep-alive, a response body by
Content-Length, chunked, or up to the close. Anything malformed raises `BadResponse` (an
OSError), which the transport treats like a network error: retried later.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Mapping
    from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 100


class BadResponse(ConnectionError):
    """The peer's answer is not HTTP/1.x as this client reads it."""


class Response:
    """The parts of http.client.HTTPResponse the transport reads."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def read(self) -> bytes:
        return self.body

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class Connection:
    """Like http.client.HTTPConnection(host, port, timeout), plain HTTP only."""

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        import socket

        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._create_connection: Callable[..., socket.socket] = socket.create_connection

    def request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> None:
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{self.port}"]
        lines += ["Accept-Encoding: identity", f"Content-Length: {len(body)}"]
        for name, value in headers.items():
            if any(c in name or c in value for c in "\r\n\0") or ":" in name:
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(head + body)

    def connect(self) -> None:
        self.sock = self._create_connection((self.host, self.port), self.timeout)

    def getresponse(self) -> Response:
        if self.sock is None:
            raise BadResponse("no request was sent")
        f = self.sock.makefile("rb")
        try:
            while True:
                status, keep = _status(f.readline(MAX_LINE + 1))
                headers = _headers(f)
                if status >= 200:
                    break  # 1xx: an interim answer, the real one follows
            body = _body(f, headers, status)
        finally:
            f.close()
        if not keep or headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def _status(line: bytes) -> tuple[int, bool]:
    """(status, keep-alive by default for this HTTP version)."""
    if not line:
        raise BadResponse("connection closed before an answer")
    parts = line.decode("latin-1").split(None, 2)
    if len(line) > MAX_LINE or len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BadResponse(f"bad status line {line[:80]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise BadResponse(f"bad status line {line[:80]!r}") from None
    if not 100 <= status <= 999:
        raise BadResponse(f"bad status {status}")
    return status, parts[0] != "HTTP/1.0"


def _headers(f: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = f.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadResponse("header line too long")
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise BadResponse("connection closed in the headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise BadResponse(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    raise BadResponse("too many headers")


def _body(f: BinaryIO, headers: dict[str, str], status: int) -> bytes:
    read, readline = f.read, f.readline
    if status in (204, 304):
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out: list[bytes] = []
        while True:
            size_line = readline(MAX_LINE + 1)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadResponse("bad chunk size") from None
            if size == 0:
                while readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(out)
            out.append(_exactly(read, size))
            readline(MAX_LINE + 1)  # the CRLF after the chunk
    length = headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise BadResponse("bad Content-Length") from None
        if n < 0:
            raise BadResponse("bad Content-Length")
        return _exactly(read, n)
    data: bytes = read()  # no length: the body ends with the connection
    headers["connection"] = "close"
    return data


def _exactly(read: Callable[[int], bytes], n: int) -> bytes:
    data = read(n)
    if len(data) != n:
        raise BadResponse("connection closed in the body")
    return data
