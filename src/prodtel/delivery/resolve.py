"""Name resolution off every path the host app waits for.

`getaddrinfo` cannot be bounded by a socket timeout: a resolver that never answers costs its own
timeout (5 s x 2 attempts with glibc's defaults) wherever it is called. So names are resolved on
daemon threads started here, one per (host, port) at a time, and the answer is cached for the
run. Nothing else ever calls `getaddrinfo` for a name:

- `lookup(host, port)` never blocks: the cached addresses, or None (and a resolution starts).
- `wait(host, port, timeout)` blocks the caller on an Event (not in `getaddrinfo`) for up to
  `timeout`: the background sender uses it; the exit path never does.
- `create_connection` is what `http.client` connections call to open their socket (set as
  `conn._create_connection`): it connects to cached addresses, waits at most the socket
  timeout for an unresolved name, and raises `NotResolved` (an OSError, so a retry) otherwise.

A thread stuck in `getaddrinfo` is a daemon thread nobody joins, so it never holds the
interpreter's shutdown. IP literals and "localhost" resolve without a resolver (numeric lookup).
A failed lookup (NXDOMAIN, no network) is remembered for `RETRY_FAILED_S`, then tried again.
After fork the child forgets the parent's in-flight lookups (their threads are gone) and keeps
its answers.
"""

from __future__ import annotations

import os
import socket
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    AddrInfo = list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]

RETRY_FAILED_S = 5.0


class NotResolved(OSError):
    """The host name has no answer yet: nothing was sent."""


class _Entry:
    __slots__ = ("addrs", "done", "error", "failed_at")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.addrs: AddrInfo | None = None
        self.error: str | None = None
        self.failed_at = 0.0


_lock = threading.Lock()
_cache: dict[tuple[str, int], _Entry] = {}


def _name(host: str) -> str | bytes:
    """What getaddrinfo gets: an ASCII name as bytes, which is what its idna encoding would
    be, without importing the idna codec (~1 ms of every start)."""
    return host.encode("ascii") if host.isascii() else host


def _numeric(host: str, port: int) -> AddrInfo | None:
    if host == "localhost":
        host = "127.0.0.1"
    try:
        return socket.getaddrinfo(  # type: ignore[return-value]
            _name(host), port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (OSError, UnicodeError):
        return None


def _entry(host: str, port: int) -> _Entry:
    """The cache entry for (host, port); starts a background lookup when there is none (or
    the last one failed long enough ago)."""
    key = (host, port)
    with _lock:
        e = _cache.get(key)
        if e is not None and not (
            e.done.is_set() and e.addrs is None and time.monotonic() - e.failed_at > RETRY_FAILED_S
        ):
            return e
        e = _cache[key] = _Entry()
    numeric = _numeric(host, port)
    if numeric is not None:
        e.addrs = numeric
        e.done.set()
    else:
        threading.Thread(
            target=_resolve, args=(host, port, e), name="prodtel-resolve", daemon=True
        ).start()
    return e


def _resolve(host: str, port: int, e: _Entry) -> None:
    try:
        e.addrs = socket.getaddrinfo(_name(host), port, type=socket.SOCK_STREAM)  # type: ignore[assignment]
    except Exception as exc:  # gaierror, UnicodeError: remembered, retried later
        e.error = f"{type(exc).__name__}: {exc}"
        e.failed_at = time.monotonic()
    e.done.set()


def prefetch(host: str, port: int) -> None:
    """Start resolving now (at init), so the answer is there by the time it is needed."""
    _entry(host, port)


def lookup(host: str, port: int) -> AddrInfo | None:
    """The addresses of (host, port) if known; never blocks."""
    e = _entry(host, port)
    return e.addrs if e.done.is_set() else None


def wait(host: str, port: int, timeout: float) -> AddrInfo | None:
    """The addresses, waiting up to `timeout` seconds for a lookup in progress (on an Event,
    so the caller can be abandoned at exit). None: unresolved or unresolvable."""
    e = _entry(host, port)
    e.done.wait(max(timeout, 0.0))
    return e.addrs if e.done.is_set() else None


def pending(host: str, port: int) -> bool:
    """True while a lookup for (host, port) is running without an answer yet."""
    with _lock:
        e = _cache.get((host, port))
    return e is not None and not e.done.is_set()


def create_connection(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    all_errors: bool = False,
) -> socket.socket:
    """`socket.create_connection` over the cache: the name's lookup never runs on the calling
    thread, and waits at most `timeout` for an answer."""
    host, port = address
    t = 10.0 if timeout is None else timeout
    start = time.monotonic()
    addrs = wait(host, port, t)
    if not addrs:
        e = _cache.get((host, port))
        raise NotResolved(f"{host}: {e.error if e and e.error else 'name not resolved yet'}")
    left = t - (time.monotonic() - start)
    err: OSError | None = None
    for family, kind, proto, _, sockaddr in addrs:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(max(left, 0.001) if timeout is not None else None)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            err = e
            sock.close()
    raise err or NotResolved(f"{host}: no address")


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    for key, e in list(_cache.items()):
        if not e.done.is_set():  # its thread did not survive the fork
            del _cache[key]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
