"""What the exit path may send, and how a request still on the wire changes hands.

The host app waits at most PRODTEL_EXIT_TIMEOUT (20 ms) for telemetry at exit. A collector
100 ms away cannot answer within that, and the old rule "a request without an answer is
released for a retry" made the detached uploader send every such request a second time. The
rules now, and the races they close (several processes of one app share the outbox; a row is
taken by leasing it for LEASE_S = 30 s, longer than any request timeout):

1. Never start a POST at exit whose answer cannot arrive within the budget. The time a POST
   takes to this endpoint is measured on every answered POST (this run's worker, the uploader)
   and persisted per endpoint in the state dir (`rtt.json`), so even a run's first and only
   send at exit knows it. Too slow, or the host name not resolved yet (`resolve.lookup` never
   blocks): the rows stay in the outbox untouched and the detached uploader sends them. Nobody
   else can have sent them, so nothing is sent twice.
2. No estimate yet (the first run against an endpoint): plain HTTP may try. If the request left
   but its answer did not come within the budget, the rows are NOT released: they keep the
   lease, and the socket itself is inherited by the uploader (posix_spawn passes inheritable
   fds), which reads the pending answer and marks the rows sent (2xx), rejected (other 4xx) or
   releases them (429, 5xx, reset, its own 10 s timeout). The exit path waits for readability
   with select() before parsing, so no byte of the answer is consumed by the exiting process.
   With TLS the session cannot change process: with no estimate, the exit path does not post.
3. A request cut short while being written (the budget ran out mid-body) or never connected was
   not processed by the collector (an incomplete body is discarded): release is safe.
4. A background send in flight when the process exits (the worker thread is on the network and
   holds the send lock): its rows keep their 30 s lease, so no other sender takes them while
   the answer may still come. If the process dies before reading that answer, the rows come
   back after the lease and are sent again: the one window left, a duplicate that the
   collector-side dedup by log.record.uid removes. It needs a send started within one RTT of
   exit; a short run's only sends happen on the exit path (rules 1-3).
5. Two uploaders never run for one state dir (a lock file). A handed-over answer is read even
   when another uploader holds the lock: reading it records the outcome, then it leaves.
"""

from __future__ import annotations

import json
import os

FILE = "rtt.json"
SAFETY = 0.8  # use at most this share of the budget


def load(state_dir: str | None, endpoint: str) -> float | None:
    """Seconds a POST to `endpoint` took last time, from an earlier run; None if unknown."""
    if not state_dir:
        return None
    try:
        with open(os.path.join(state_dir, FILE)) as f:
            v = json.load(f).get(endpoint)
        return float(v) if isinstance(v, int | float) and v >= 0 else None
    except (OSError, ValueError, AttributeError):
        return None


def save(state_dir: str | None, endpoint: str, seconds: float) -> None:
    """Remember what a POST to `endpoint` took (atomic replace; best effort)."""
    if not state_dir:
        return
    path = os.path.join(state_dir, FILE)
    try:
        try:
            with open(path) as f:
                data = json.load(f)
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data[endpoint] = round(seconds, 4)
        while len(data) > 16:
            del data[next(iter(data))]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass


def may_post(budget: float, estimate: float | None, connected: bool, https: bool) -> bool:
    """Whether a POST started now can plausibly be answered within `budget` seconds."""
    if estimate is None:
        return not https  # plain HTTP: an unanswered request is handed over (rule 2)
    rounds = 1 if connected else (2 if not https else 3)  # + TCP (+ TLS) handshake
    return estimate * rounds <= budget * SAFETY


class Handoff:
    """A request whose answer the uploader reads: the inherited socket, the leased rows, and
    the wall-clock time the request started to leave (so the uploader learns the round trip
    and later runs stop posting at exit to an endpoint that cannot answer in time)."""

    __slots__ = ("fd", "ids", "sent_at")

    def __init__(self, fd: int, ids: list[int], sent_at: float = 0.0) -> None:
        self.fd = fd
        self.ids = ids
        self.sent_at = sent_at

    def arg(self) -> str:
        return f"{self.fd}:{','.join(map(str, self.ids))}:{self.sent_at:.6f}"

    @classmethod
    def parse(cls, arg: str) -> Handoff:
        fd, ids, *sent = arg.split(":")
        return cls(int(fd), [int(i) for i in ids.split(",") if i], float(sent[0]) if sent else 0.0)


def read_answer(handoff: Handoff, timeout: float) -> tuple[str, float]:
    """In the uploader: read the answer to the handed-over request from the inherited socket.
    ("ok" | "rejected" | "retry", Retry-After seconds)."""
    import http.client
    import socket

    from prodtel.delivery.result import retry_after

    try:
        sock = socket.socket(fileno=handoff.fd)
    except OSError:
        return "retry", 0.0
    try:
        sock.settimeout(timeout)
        resp = http.client.HTTPResponse(sock, method="POST")
        resp.begin()
        resp.read()
    except (OSError, http.client.HTTPException):
        return "retry", 0.0
    finally:
        sock.close()
    if 200 <= resp.status < 300:
        return "ok", 0.0
    if resp.status == 429 or resp.status >= 500:
        return "retry", retry_after(resp.getheader("Retry-After"))
    return "rejected", 0.0
