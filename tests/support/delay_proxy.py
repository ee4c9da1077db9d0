"""A userspace TCP proxy that delays every byte by `delay_ms` each way (this kernel has no
netem): the collector on loopback behaves as if it were far away.

Each chunk read from one side is written to the other `delay_ms` later, in order; an EOF is
passed on after the same delay. The TCP handshake with the proxy itself is not delayed (the
kernel completes it), so a round trip shows up on the first request/answer, as data.
Runs as a thread in tests, or as a process: `python -m tests.support.delay_proxy MS HOST:PORT`
prints its port.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import sys
import threading
import time


class DelayProxy:
    def __init__(self, upstream: tuple[str, int], delay_ms: float, port: int = 0) -> None:
        """`port`: where to listen (0: a free port)."""
        self.upstream = upstream
        self.delay = delay_ms / 1000.0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="delay-proxy").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open += [client, server]
            _Pipe(client, server, self.delay)
            _Pipe(server, client, self.delay)

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for s in self._open:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Pipe:
    """One direction: a reader thread stamps chunks, a writer thread sends them when due."""

    def __init__(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        self.src, self.dst, self.delay = src, dst, delay
        self.due: list[tuple[float, int, bytes | None]] = []
        self.seq = itertools.count()
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data: bytes | None = self.src.recv(65536) or None
            except OSError:
                data = None
            with self.cv:
                heapq.heappush(self.due, (time.monotonic() + self.delay, next(self.seq), data))
                self.cv.notify()
            if data is None:
                return

    def _write(self) -> None:
        while True:
            with self.cv:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.cv.wait(self.due[0][0] - time.monotonic() if self.due else None)
                _, _, data = heapq.heappop(self.due)
            try:
                if data is None:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
            except OSError:
                return


if __name__ == "__main__":
    host, port = sys.argv[2].rsplit(":", 1)
    p = DelayProxy((host, int(port)), float(sys.argv[1]))
    print(p.port, flush=True)
    while True:
        time.sleep(3600)
