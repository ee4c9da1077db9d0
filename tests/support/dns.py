"""A resolver on 127.0.0.53:53 for one child process: silent, or answering A records.

`resolver_cmd(cmd, tmp)` wraps a command so that it runs in a private mount namespace
(`unshare -m`, needs root) whose /etc/resolv.conf says `nameserver 127.0.0.53`; nothing on the
machine changes. `SilentResolver` reads queries and never answers (a dead VPN resolver, a captive
portal): glibc then waits 5 s x 2 attempts. `AnsweringResolver` answers A queries for its names
with 127.0.0.1 and every other query with an empty NOERROR (hand-made DNS packets).
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

from tests.support.namespace import UNSHARE

ADDR = ("127.0.0.53", 53)


def resolver_cmd(cmd: list[str], tmp: Path) -> list[str]:
    conf = tmp / "resolv.conf"
    conf.write_text("nameserver 127.0.0.53\n")
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return [*UNSHARE, "sh", "-c", script, str(conf), *cmd]


class _Server:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(ADDR)
        self.queries: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            name, qtype, end = _question(data)
            self.queries.append(name)
            reply = self.answer(data, name, qtype, end)
            if reply:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:  # closed while answering
                    return

    def answer(self, query: bytes, name: str, qtype: int, end: int) -> bytes | None:
        return None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SilentResolver(_Server):
    """Reads every query, answers none."""


class AnsweringResolver(_Server):
    def __init__(self, names: set[str]) -> None:
        self.names = {n.lower().rstrip(".") for n in names}
        super().__init__()

    def answer(self, query: bytes, name: str, qtype: int, end: int) -> bytes | None:
        ident = query[:2]
        known = name.lower() in self.names
        ancount = 1 if known and qtype == 1 else 0
        rcode = 0 if known else 3  # NXDOMAIN for other names
        flags = 0x8180 | rcode  # response, recursion desired + available
        header = ident + struct.pack(">HHHHH", flags, 1, ancount, 0, 0)
        body = query[12:end]
        if ancount:  # pointer to the name at offset 12, A, IN, TTL 60, 4 bytes
            body += struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        return header + body


def _question(data: bytes) -> tuple[str, int, int]:
    """(name, qtype, offset after the question) of a DNS query."""
    labels, i = [], 12
    while i < len(data) and data[i]:
        n = data[i]
        labels.append(data[i + 1 : i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    i += 1
    qtype = struct.unpack(">H", data[i : i + 2])[0] if i + 2 <= len(data) else 0
    return ".".join(labels), qtype, i + 4
