"""Durable direct-to-Sentry delivery: sentry-sdk's events go through a spool in the state dir.

Every event envelope sentry-sdk hands to its transport is first written to SQLite (WAL, one
transaction per write, like the outbox), then POSTed to the DSN's envelope endpoint. A row
leaves the spool when the server took it (2xx) or refused it for good (4xx other than 429).
What the exit budget could not send stays, and is sent by the detached uploader
(`python -m prodtel.delivery.upload`) or by the next run with a DSN. Each event_id is stored
once and remembered after it was sent, so an event is spooled and sent at most once (a copy
re-sent after a lost answer has the same event_id, which Sentry-compatible servers drop).

Caps as the outbox's: at most MAX_ROWS envelopes and MAX_AGE_S old, oldest dropped first.
This module imports sentry_sdk only in `transport()`: the uploader uses the rest without it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FILENAME = "sentry-spool.sqlite3"
MAX_ROWS = 1000
MAX_AGE_S = 7 * 24 * 3600
LEASE_S = 30.0
SENT_KEEP = 1000  # event_ids remembered after sending
OK, RETRY, DROP = 0, 1, 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS envelopes (
    event_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    auth TEXT NOT NULL,
    body BLOB NOT NULL,
    fatal INTEGER NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sent (event_id TEXT PRIMARY KEY, at REAL NOT NULL);
"""


class Row:
    __slots__ = ("auth", "body", "event_id", "fatal", "url")

    def __init__(self, event_id: str, url: str, auth: str, body: bytes, fatal: bool) -> None:
        self.event_id, self.url, self.auth, self.body, self.fatal = event_id, url, auth, body, fatal


class Spool:
    """The SQLite spool. Every call holds `lock` (one connection shared by threads); rows are
    leased before they are posted, so processes sharing the state dir never post one twice
    at the same time."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, FILENAME)
        self.db: sqlite3.Connection | None = None
        self.lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        if self.db is None:
            os.makedirs(self.state_dir, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                                 check_same_thread=False)  # fmt: skip
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self.db = db
        return self.db

    def _tx(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self.lock:
            db = self._open()
            db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return out

    def put(self, row: Row) -> bool:
        """Store an envelope unless its event_id is stored or was sent; enforce the caps."""

        def put(db: sqlite3.Connection) -> bool:
            if db.execute("SELECT 1 FROM sent WHERE event_id = ?", (row.event_id,)).fetchone():
                return False
            cur = db.execute(
                "INSERT OR IGNORE INTO envelopes(event_id, url, auth, body, fatal, created)"
                " VALUES (?,?,?,?,?,?)",
                (row.event_id, row.url, row.auth, row.body, int(row.fatal), time.time()),
            )
            db.execute("DELETE FROM envelopes WHERE created < ?", (time.time() - MAX_AGE_S,))
            db.execute(
                "DELETE FROM envelopes WHERE rowid NOT IN "
                "(SELECT rowid FROM envelopes ORDER BY created DESC LIMIT ?)",
                (MAX_ROWS,),
            )
            return cur.rowcount > 0

        return bool(self._tx(put))

    def lease(self, limit: int = 16) -> list[Row]:
        def lease(db: sqlite3.Connection) -> list[Row]:
            now = time.time()
            rows = db.execute(
                "SELECT event_id, url, auth, body, fatal FROM envelopes WHERE lease_until < ?"
                " ORDER BY created LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE envelopes SET lease_until = ? WHERE event_id = ?",
                [(now + LEASE_S, r[0]) for r in rows],
            )
            return [Row(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

        out: list[Row] = self._tx(lease)
        return out

    def done(self, row: Row, sent: bool) -> None:
        def done(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM envelopes WHERE event_id = ?", (row.event_id,))
            if sent:
                db.execute("INSERT OR REPLACE INTO sent VALUES (?, ?)", (row.event_id, time.time()))
                db.execute(
                    "DELETE FROM sent WHERE event_id NOT IN "
                    "(SELECT event_id FROM sent ORDER BY at DESC LIMIT ?)",
                    (SENT_KEEP,),
                )

        self._tx(done)

    def release(self, row: Row, retry_at: float) -> None:
        self._tx(
            lambda db: db.execute(
                "UPDATE envelopes SET lease_until = ?, attempts = attempts + 1 WHERE event_id = ?",
                (retry_at, row.event_id),
            )
        )

    def pending(self) -> int:
        if not os.path.exists(self.path):
            return 0
        with self.lock:
            return int(self._open().execute("SELECT COUNT(*) FROM envelopes").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            db, self.db = self.db, None
            if db is not None:
                db.close()


def post(row: Row, timeout: float) -> tuple[int, float]:
    """POST one envelope: (OK|RETRY|DROP, seconds to wait before retrying)."""
    import gzip
    import http.client
    from urllib.parse import urlsplit

    from prodtel.delivery.result import retry_after

    u = urlsplit(row.url)
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = cls(u.hostname or "127.0.0.1", u.port, timeout=max(timeout, 0.01))
    try:
        conn.request(
            "POST",
            u.path + (f"?{u.query}" if u.query else ""),
            gzip.compress(row.body, compresslevel=1),
            {
                "Content-Type": "application/x-sentry-envelope",
                "Content-Encoding": "gzip",
                "X-Sentry-Auth": row.auth,
                "User-Agent": "prodtel-python",
            },
        )
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException):
        return RETRY, 0.0
    finally:
        conn.close()
    if 200 <= resp.status < 300:
        return OK, 0.0
    if resp.status == 429 or resp.status >= 500:
        return RETRY, retry_after(resp.getheader("Retry-After"))
    return DROP, 0.0


def send(spool: Spool, deadline: float, allows: Callable[[bool], bool] | None = None) -> bool:
    """Post spooled envelopes until `deadline` (monotonic); True when the spool is empty.
    `allows(fatal)`: the live consent gate; an envelope it refuses is deleted unsent."""
    backoff = 0.0
    while time.monotonic() < deadline:
        rows = spool.lease()
        if not rows:
            return spool.pending() == 0
        for row in rows:
            left = deadline - time.monotonic()
            if left <= 0 or backoff:
                spool.release(row, 0.0)
                continue
            if allows is not None and not allows(row.fatal):
                spool.done(row, sent=False)
                continue
            result, after = post(row, min(left, 10.0))
            if result == RETRY:
                spool.release(row, 0.0)  # free for the uploader or the next run at once
                backoff = max(after, 1.0)
            else:
                spool.done(row, sent=result == OK)
        if backoff:
            return False
    return False


def transport(state_dir: str, dsn: str, allows: Callable[[bool], bool],
              on_leftover: Callable[[], None] | None = None) -> Any:  # fmt: skip
    """A sentry-sdk Transport that writes each event envelope to the spool, then sends it on
    its own thread; `flush` sends within its timeout; `kill` (the client's close) hands what
    is left to `on_leftover` (the detached uploader)."""
    from sentry_sdk.transport import Transport

    class SpoolTransport(Transport):
        def __init__(self) -> None:
            super().__init__({"dsn": dsn})
            assert self.parsed_dsn is not None
            auth = self.parsed_dsn.to_auth("prodtel-python")
            self.url, self.auth = auth.get_api_url(), auth.to_header()
            self.spool = Spool(state_dir)
            self.wake = threading.Event()
            self.send_lock = threading.Lock()
            self.stopped = False
            self.thread: threading.Thread | None = None
            self._start()
            from prodtel import atfork

            atfork.register(after_in_child=self._after_fork)

        def _after_fork(self) -> None:
            """A forked child: the parent's thread is gone and its locks may be held."""
            self.spool = Spool(state_dir)  # never reuse the parent's connection
            self.wake, self.send_lock = threading.Event(), threading.Lock()
            if not self.stopped:
                self._start()

        def _start(self) -> None:
            self.thread = threading.Thread(target=self._loop, name="prodtel-sentry", daemon=True)
            self.thread.start()

        def _loop(self) -> None:
            delay = 0.0  # the first pass sends what earlier runs left
            while not self.stopped:
                self.wake.wait(delay)
                self.wake.clear()
                if self.stopped:
                    return
                delay = 0.0 if self._send(time.monotonic() + 30.0) else 5.0

        def _send(self, deadline: float) -> bool:
            # One sender at a time; a flush waits for the thread's post only until its deadline.
            if not self.send_lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                return False
            try:
                return send(self.spool, deadline, allows)
            except Exception:
                return False
            finally:
                self.send_lock.release()

        def capture_envelope(self, envelope: Any) -> None:
            event = envelope.get_event()
            if event is None or not event.get("event_id"):
                return  # sessions, client reports: off in the options anyway
            fatal = any(
                (v.get("mechanism") or {}).get("handled") is False
                for v in (event.get("exception") or {}).get("values") or []
            )
            try:
                self.spool.put(
                    Row(str(event["event_id"]), self.url, self.auth, envelope.serialize(), fatal)
                )
            except Exception:
                return
            self.wake.set()

        def flush(self, timeout: float, callback: Any = None) -> None:
            self._send(time.monotonic() + timeout)

        def kill(self) -> None:
            self.stopped = True
            self.wake.set()
            try:
                if on_leftover is not None and self.spool.pending():
                    on_leftover()
            except Exception:
                pass

    return SpoolTransport()
