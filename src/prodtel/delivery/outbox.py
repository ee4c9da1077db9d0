"""The durable outbox: what the consent gate allowed, encoded, waiting to be sent.

SQLite in WAL mode (stdlib sqlite3) in the state dir. Each row is one gzip-compressed OTLP
request, ready to post as it is, so a write costs one small insert per few thousand records and a
send re-encodes nothing (gzip members concatenate, and so do protobuf messages). Several
processes of the same app share it: a sender leases rows before posting them. A kill -9 at any
moment leaves it readable (transactions are atomic). Caps on records and age drop the oldest
first, and every drop is counted in the `counters` table, which `status` reads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

FILENAME = "outbox.sqlite3"
MAX_RECORDS = 500_000
MAX_AGE_S = 7 * 24 * 3600
LEASE_S = 30.0
_INHERITED: list[sqlite3.Connection] = []  # connections a forked child must leave alone

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_ns INTEGER NOT NULL,
    last_ns INTEGER NOT NULL,
    count INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    kind TEXT NOT NULL DEFAULT 'logs'
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Batch:
    """One stored request: `body` is gzip-compressed ExportLogsServiceRequest bytes, or for
    `kind` "traces" ExportTraceServiceRequest bytes (posted to /v1/traces)."""

    __slots__ = ("body", "count", "first_ns", "id", "kind", "size")

    def __init__(
        self, id: int, body: bytes, count: int, first_ns: int, size: int = 0, kind: str = "logs"
    ) -> None:
        self.id = id
        self.body = body
        self.count = count
        self.first_ns = first_ns
        self.size = size
        self.kind = kind


class Outbox:
    def __init__(
        self, state_dir: str, max_records: int = MAX_RECORDS, max_age_s: float = MAX_AGE_S
    ) -> None:
        self.path = os.path.join(state_dir, FILENAME)
        self.state_dir = state_dir
        self.max_records = max_records
        self.max_age_s = max_age_s
        self.db: sqlite3.Connection | None = None
        self.lock = threading.Lock()  # one connection, shared by the app and worker threads

    def open(self) -> sqlite3.Connection:
        if self.db is None:
            with self.lock:  # every SQLite call holds the lock, so a fork never splits one
                return self._connect()
        return self.db

    def _connect(self) -> sqlite3.Connection:
        if self.db is None:
            os.makedirs(self.state_dir, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            db.executescript(SCHEMA)
            _add_kind(db)
            self.db = db
        return self.db

    def forget(self) -> None:
        """After fork: never reuse the parent's connection, and never close it either (closing
        would checkpoint and unlock the parent's database from here): keep it, unused."""
        if self.db is not None:
            _INHERITED.append(self.db)
        self.db = None
        self.lock = threading.Lock()

    def close(self) -> None:
        db, self.db = self.db, None
        if db is not None:
            db.close()

    def put(
        self,
        batches: list[tuple[bytes, int, int, int, int]],
        counters: dict[str, int] | None = None,
        kind: str = "logs",
    ) -> tuple[list[int], dict[str, int]]:
        """Store (gzip body, count, raw size, first_ns, last_ns) rows of one `kind` ("logs" or
        "traces") and counter deltas in one transaction; enforce the caps. Returns the new row
        ids and what the caps dropped."""
        db = self.open()
        now = time.time()
        ids = []
        with _transaction(db, self.lock):
            for b in batches:
                cur = db.execute(
                    "INSERT INTO batches(body, count, size, first_ns, last_ns, created, kind)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (*b, now, kind),
                )
                ids.append(int(cur.lastrowid or 0))
            dropped = self._enforce_caps(db)
            self._add_counters(db, {**(counters or {}), **dropped})
        return ids, dropped

    def _enforce_caps(self, db: sqlite3.Connection) -> dict[str, int]:
        out: dict[str, int] = {}
        cutoff = time.time() - self.max_age_s
        n = db.execute(
            "SELECT COALESCE(SUM(count),0) FROM batches WHERE created < ?", (cutoff,)
        ).fetchone()[0]
        if n:
            db.execute("DELETE FROM batches WHERE created < ?", (cutoff,))
            out["dropped_expired"] = int(n)
        total = db.execute("SELECT COALESCE(SUM(count),0) FROM batches").fetchone()[0]
        over = 0
        while total > self.max_records:  # oldest batches first
            row = db.execute("SELECT id, count FROM batches ORDER BY id LIMIT 1").fetchone()
            db.execute("DELETE FROM batches WHERE id = ?", (row[0],))
            total -= row[1]
            over += row[1]
        if over:
            out["dropped_overflow"] = over
        return out

    def _add_counters(self, db: sqlite3.Connection, deltas: dict[str, int]) -> None:
        for name, value in deltas.items():
            if value:
                db.execute(
                    "INSERT INTO counters(name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (name, value),
                )

    def lease(self, max_records: int, max_bytes: int, lease_s: float = LEASE_S) -> list[Batch]:
        """Take the oldest unleased batches for one request: at least one, then as many of the
        same kind as fit in `max_records` records and `max_bytes` uncompressed bytes."""
        db = self.open()
        now = time.time()
        with _transaction(db, self.lock):
            rows = db.execute(
                "SELECT id, body, count, first_ns, size, kind FROM batches WHERE lease_until < ? "
                "AND kind = (SELECT kind FROM batches WHERE lease_until < ? ORDER BY id LIMIT 1) "
                "ORDER BY id LIMIT 64",
                (now, now),
            ).fetchall()
            picked: list[Batch] = []
            records = size = 0
            for row in rows:
                if picked and (records + row[2] > max_records or size + row[4] > max_bytes):
                    break
                picked.append(Batch(*row))
                records += row[2]
                size += row[4]
            if picked:
                db.executemany(
                    "UPDATE batches SET lease_until = ? WHERE id = ?",
                    [(now + lease_s, b.id) for b in picked],
                )
        return picked

    def done(self, batches: Iterable[Batch], counter: str) -> None:
        """Delivered (counter "sent") or poison (counter "dropped_rejected"): remove them."""
        bs = list(batches)
        db = self.open()
        with _transaction(db, self.lock):
            db.executemany("DELETE FROM batches WHERE id = ?", [(b.id,) for b in bs])
            self._add_counters(db, {counter: sum(b.count for b in bs)})

    def release(self, batches: Iterable[Batch], retry_at: float) -> None:
        """Not delivered: make them available again at `retry_at` (wall clock)."""
        db = self.open()
        with _transaction(db, self.lock):
            db.executemany(
                "UPDATE batches SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(retry_at, b.id) for b in batches],
            )

    def purge(self, before_ns: int | None = None) -> int:
        """Drop pending records (all, or those recorded before `before_ns`); count them."""
        db = self.open()
        with _transaction(db, self.lock):
            where, args = ("WHERE first_ns < ?", (before_ns,)) if before_ns else ("", ())
            n = int(
                db.execute(f"SELECT COALESCE(SUM(count),0) FROM batches {where}", args).fetchone()[
                    0
                ]
            )
            db.execute(f"DELETE FROM batches {where}", args)
            self._add_counters(db, {"purged": n})
        return n

    def pending(self) -> int:
        if not os.path.exists(self.path):
            return 0
        db = self.open()
        with self.lock:
            return int(db.execute("SELECT COALESCE(SUM(count),0) FROM batches").fetchone()[0])

    def counters(self) -> dict[str, int]:
        if not os.path.exists(self.path):
            return {}
        db = self.open()
        with self.lock:
            return {k: int(v) for k, v in db.execute("SELECT name, value FROM counters")}

    def peek(self, limit: int = 20) -> list[bytes]:
        """The gzip bodies of the oldest batches, for `telemetry pending`."""
        return [body for _, body in self.peek_kinds(limit)]

    def peek_kinds(self, limit: int = 20) -> list[tuple[str, bytes]]:
        """(kind, gzip body) of the oldest batches."""
        if not os.path.exists(self.path):
            return []
        db = self.open()
        with self.lock:
            rows = db.execute(
                "SELECT kind, body FROM batches ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [(k, b) for k, b in rows]


def _add_kind(db: sqlite3.Connection) -> None:
    """An outbox written before spans took this road has no `kind` column: all its rows are
    logs, which is the column's default."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(batches)")}
    if "kind" not in columns:
        try:
            db.execute("ALTER TABLE batches ADD COLUMN kind TEXT NOT NULL DEFAULT 'logs'")
        except sqlite3.OperationalError:  # another process added it first
            pass


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK): one writer at a time across processes, and
    across the threads of this one (they share the connection)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db = db
        self.lock = lock

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
