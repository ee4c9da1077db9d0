"""Raw TCP listeners for privacy and exit tests: one that counts bytes, one that never answers."""

from __future__ import annotations

import socket
import threading


class Listener:
    """Accepts connections and counts every byte received. `blackhole=True`: accept but never
    read or answer (the peer's request hangs until its own timeout)."""

    def __init__(self, blackhole: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.blackhole = blackhole
        self.bytes = 0
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
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
        self._stop = True
        self.sock.close()
        for c in self._held:
            c.close()


def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
