"""prodtel.delivery.plainhttp against a loopback socket that answers with scripted raw bytes,
and against http.server (keep-alive, as the collector answers)."""

from __future__ import annotations

import socket
import threading

import pytest

from prodtel.delivery import plainhttp
from tests.support.loopback import ScriptedServer


class RawServer:
    """Accepts one connection; for each request read, sends the next scripted answer."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        with conn:
            for answer in self.answers:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(answer)


def post(conn: plainhttp.Connection, body: bytes = b"x") -> plainhttp.Response:
    conn.request("POST", "/v1/logs", body, {"Content-Type": "application/x-protobuf"})
    return conn.getresponse()


def test_content_length_chunked_interim_and_close_delimited_answers() -> None:
    srv = RawServer(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.0 503 Busy\r\n\r\nbye",
        ]
    )
    conn = plainhttp.Connection("127.0.0.1", srv.port, timeout=10)
    r = post(conn, b"hello")
    assert (r.status, r.read()) == (200, b"{}")
    sock = conn.sock
    r = post(conn)
    assert conn.sock is sock  # kept alive
    assert (r.status, r.read(), r.getheader("retry-after")) == (429, b"abcde", "7")
    r = post(conn)
    assert (r.status, r.read()) == (503, b"bye")
    assert conn.sock is None  # HTTP/1.0 without keep-alive: closed
    first = srv.requests[0]
    assert first.startswith(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 5\r\n" in first and first.endswith(b"\r\n\r\nhello")


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_answer_is_a_connection_error(answer: bytes) -> None:
    srv = RawServer([answer])
    conn = plainhttp.Connection("127.0.0.1", srv.port, timeout=10)
    with pytest.raises(OSError):
        post(conn)


def test_header_injection_is_refused() -> None:
    conn = plainhttp.Connection("127.0.0.1", 9, timeout=1)
    with pytest.raises(ValueError):
        conn.request("POST", "/", b"", {"X-Key": "a\r\nInjected: yes"})


def test_keep_alive_with_http_server() -> None:
    srv = ScriptedServer([(500, {}), (200, {})])
    try:
        host, port = srv.url.removeprefix("http://").rsplit(":", 1)
        conn = plainhttp.Connection(host, int(port), timeout=10)
        assert post(conn).status == 500
        assert post(conn).status == 200
        assert [s for _, s, _ in srv.requests] == [500, 200]
    finally:
        srv.close()
