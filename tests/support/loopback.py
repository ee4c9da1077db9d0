"""Loopback servers for tests, all on 127.0.0.1: free ports and waiting for a listener; raw TCP
listeners (byte counting or blackhole, and a proxy that resets connections); OTLP/HTTP servers
(a receiver that decodes what arrived, and a scripted fault server answering 429/503/400)."""

from __future__ import annotations

import gzip
import http.server
import random
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

T = TypeVar("T")
HOST = "127.0.0.1"


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152  # IANA's dynamic range, where macOS and Windows take ephemeral ports


_EPHEMERAL_LOW = _ephemeral_low()
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, for a server a test starts later (often another
    process). It lies below the kernel's ephemeral range: a port from bind(0) can be taken by any
    outgoing connection before the server binds it (CI failed once that way), and a collector
    restarted on the same port must find it free again. Never the same port twice per run."""
    while True:
        port = random.randrange(15000, _EPHEMERAL_LOW)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    return f"http://{HOST}:{free_port()}"


def wait_http(url: str, timeout: float = 30.0, ok: tuple[int, ...] = (200,)) -> None:
    """Poll `url` until it answers with a status in `ok`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status in ok:
                    return
                last = r.status
        except urllib.error.HTTPError as e:
            if e.code in ok:
                return
            last = e
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


def wait_until(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Call `probe` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """Terminate a server started by a test; kill it if it does not exit within `grace`."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- raw TCP ---------------------------------------------------------------------------------
class _TCPListener:
    """Accepts connections on a free loopback port on a daemon thread, counts them and hands
    each to `_handle`."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.connections += 1
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


class Listener(_TCPListener):
    """Accepts connections and counts every byte received. `blackhole=True`: accept but never
    read or answer (the peer's request hangs until its own timeout)."""

    def __init__(self, blackhole: bool = False) -> None:
        self.blackhole = blackhole
        self.bytes = 0
        self._held: list[socket.socket] = []
        super().__init__()

    def _handle(self, conn: socket.socket) -> None:
        self._held.append(conn)
        if not self.blackhole:
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.bytes += len(data)

    def close(self) -> None:
        super().close()
        for c in self._held:
            c.close()


class ResetProxy(_TCPListener):
    """Forwards TCP to `target_port`, but resets the first `resets` connections (RST, not FIN)."""

    def __init__(self, target_port: int, resets: int) -> None:
        self.target = target_port
        self.resets = resets
        super().__init__()

    def _handle(self, conn: socket.socket) -> None:
        if self.connections <= self.resets:
            conn.recv(1024)  # let the request start, then reset mid-way
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        upstream = socket.create_connection((HOST, self.target))
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# -- OTLP/HTTP -------------------------------------------------------------------------------
def attributes(kvs: Any) -> dict[str, Any]:
    """OTLP KeyValues (official protobuf classes) as a dict of plain values."""
    return {
        kv.key: getattr(kv.value, kind) if (kind := kv.value.WhichOneof("value")) else None
        for kv in kvs
    }


class OTLPServer:
    """A threaded HTTP server on a free loopback port; every POST's path and body (gunzipped)
    go to `_answer`, whose (status, headers) is the reply, with an empty body. `bytes`: the
    bodies' size as they arrived."""

    def __init__(self) -> None:
        self.bytes = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.bytes += len(body)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                status, headers = outer._answer(self.path, body, dict(self.headers.items()))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _answer(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Receiver(OTLPServer):
    """A real OTLP/HTTP logs receiver that records what arrived, decoded with the official
    protobuf classes. For consent tests that need to see every byte."""

    def __init__(self, require: dict[str, str] | None = None) -> None:
        """`require`: headers a request must carry, else it gets 401 (an ingest key)."""
        self.records: list[dict[str, Any]] = []
        self.requests = 0
        self.headers: list[dict[str, str]] = []  # each request's headers
        self.resources: list[dict[str, str]] = []  # each ResourceLogs' string attributes
        self.require = require or {}
        super().__init__()

    def _answer(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        self.headers.append(headers)
        if any(headers.get(k) != v for k, v in self.require.items()):
            return 401, {}
        self.requests += 1
        req = ExportLogsServiceRequest.FromString(body)
        for rl in req.resource_logs:
            self.resources.append({kv.key: kv.value.string_value for kv in rl.resource.attributes})
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    self.records.append(
                        {
                            "event_name": r.event_name,
                            "attributes": attributes(r.attributes),
                            "time": r.time_unix_nano,
                        }
                    )
        return 200, {}


class ScriptedServer(OTLPServer):
    """Answers each POST with the next scripted (status, headers); then 200 forever. Records
    the time and decoded body size of every request."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[float, int, int]] = []  # (time, status, bytes)
        super().__init__()

    def _answer(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.requests.append((time.monotonic(), status, len(body)))
        return status, headers
