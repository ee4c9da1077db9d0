"""The durable outbox: what the consent gate allowed, encoded, waiting to be sent.

SQLite in WAL mode (stdlib sqlite3) in the state dir. Each row is one gzip-compressed OTLP
request, ready to post as it is, so a write costs one small insert per few thousand records and a
send re-encodes nothing (gzip members concatenate, and so do protobuf messages). Several
processes of the same app share it: a sender leases rows before posting them. A kill -9 at any
moment leaves it readable (transactions are atomic). Caps on records and age drop the oldest
first, and every drop is counted in the `counters` table, which `status` reads.

It heals itself: a corrupt file is moved aside (`outbox.sqlite3.corrupt-<time>`, counted as
`outbox_corrupt`) and a fresh one started; when the state dir cannot take writes (unwritable, a
file in its place, a full disk) it carries on in memory for this run and says so in `problem`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from prodtel.delivery import statedir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    T = TypeVar("T")

FILENAME = "outbox.sqlite3"
MAX_RECORDS = 500_000
MEMORY_MAX_RECORDS = 50_000  # the cap when the disk fails and the outbox lives in memory
MEMORY_FIRST_ID = 1 << 40  # memory row ids never collide with ids leased from the file
MAX_AGE_S = 7 * 24 * 3600
LEASE_S = 30.0
OPEN_ATTEMPTS = 10  # a first open racing other processes' (see _open_file)
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
        self.problem: str | None = None  # why the outbox lives in memory, if it does
        self.in_memory = False
        self.moved_aside: str | None = None  # where this process moved a corrupt file

    def open(self) -> sqlite3.Connection:
        if self.db is None:
            with self.lock:  # every SQLite call holds the lock, so a fork never splits one
                return self._connect()
        return self.db

    def _connect(self) -> sqlite3.Connection:
        if self.db is None:
            try:
                self.db = self._open_file()
            except (sqlite3.Error, OSError) as e:
                if not self._recover(e):
                    raise
        assert self.db is not None
        return self.db

    def _open_file(self) -> sqlite3.Connection:
        os.makedirs(self.state_dir, exist_ok=True)
        for attempt in range(OPEN_ATTEMPTS):
            db = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # set once, kept
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
                db.executescript(SCHEMA)
                _add_kind(db)
                return db
            except sqlite3.OperationalError as e:
                db.close()
                # Processes creating the file together: SQLite answers one of two lock
                # upgrades "locked" at once (no busy wait) to break the deadlock. Try again.
                if "locked" not in str(e) or attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.005 * (attempt + 1))
            except BaseException:
                db.close()
                raise
        raise AssertionError("unreachable")

    def _open_memory(self, problem: str) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO sqlite_sequence(name, seq) VALUES ('batches', ?)", (MEMORY_FIRST_ID,)
        )
        self.max_records = min(self.max_records, MEMORY_MAX_RECORDS)
        self.problem, self.in_memory = problem, True
        return db

    def _recover(self, e: BaseException) -> bool:
        """With the lock held, after `e`: move a corrupt file aside and start afresh, or carry
        on in memory when the disk cannot take writes. False: `e` is none of those."""
        if self.in_memory:
            return False
        corrupt = statedir.is_corrupt(e)
        problem = None if corrupt else statedir.unusable_disk(e, self.state_dir)
        if not corrupt and problem is None:
            return False  # e.g. locked by another process for too long: the caller's error
        self._drop_connection()
        if corrupt:
            try:
                moved = os.path.exists(self.path) and statedir.still_corrupt(self.path)
                if moved:  # else another process has already replaced it
                    self.moved_aside = statedir.move_aside(self.path)
                self.db = self._open_file()
                if moved:
                    self._add_counters(self.db, {"outbox_corrupt": 1})
                return True
            except (sqlite3.Error, OSError) as again:
                problem = statedir.unusable_disk(again, self.state_dir) or (
                    f"outbox {self.path} is unusable ({again}): {statedir.MEMORY_CONSEQUENCE}"
                )
        assert problem is not None
        self.db = self._open_memory(problem)
        return True

    def _drop_connection(self) -> None:
        db, self.db = self.db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass

    def _do(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run `op` on the connection; after a corrupt file or a failing disk, heal and run it
        once more (on a fresh file, or in memory)."""
        db = self.open()
        try:
            return op(db)
        except sqlite3.Error as e:
            with self.lock:
                if self.db is db and not self._recover(e):
                    raise
            return op(self.open())

    def forget(self) -> None:
        """After fork: never reuse the parent's connection, and never close it either (closing
        would checkpoint and unlock the parent's database from here): keep it, unused. The
        child tries the file again; the parent's memory rows stay the parent's."""
        if self.db is not None:
            _INHERITED.append(self.db)
        self.db = None
        self.lock = threading.Lock()
        self.problem, self.in_memory = None, False

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

        def op(db: sqlite3.Connection) -> tuple[list[int], dict[str, int]]:
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

        return self._do(op)

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

        def op(db: sqlite3.Connection) -> list[Batch]:
            now = time.time()
            with _transaction(db, self.lock):
                rows = db.execute(
                    "SELECT id, body, count, first_ns, size, kind FROM batches"
                    " WHERE lease_until < ? AND kind = (SELECT kind FROM batches"
                    " WHERE lease_until < ? ORDER BY id LIMIT 1) ORDER BY id LIMIT 64",
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

        return self._do(op)

    def batches(self, ids: Iterable[int]) -> list[Batch]:
        """The stored rows with these ids; rows gone are left out."""
        db = self.open()
        with self.lock:
            return [
                Batch(row[0], row[1], row[2], row[3], kind=row[4])
                for i in ids
                for row in db.execute(
                    "SELECT id, body, count, first_ns, kind FROM batches WHERE id = ?", (i,)
                ).fetchall()
            ]

    def done(self, batches: Iterable[Batch], counter: str) -> None:
        """Delivered (counter "sent") or poison (counter "dropped_rejected"): remove them."""
        bs = list(batches)

        def op(db: sqlite3.Connection) -> None:
            with _transaction(db, self.lock):
                db.executemany("DELETE FROM batches WHERE id = ?", [(b.id,) for b in bs])
                self._add_counters(db, {counter: sum(b.count for b in bs)})

        self._do(op)

    def release(self, batches: Iterable[Batch], retry_at: float) -> None:
        """Not delivered: make them available again at `retry_at` (wall clock)."""
        bs = list(batches)

        def op(db: sqlite3.Connection) -> None:
            with _transaction(db, self.lock):
                db.executemany(
                    "UPDATE batches SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                    [(retry_at, b.id) for b in bs],
                )

        self._do(op)

    def purge(self, before_ns: int | None = None) -> int:
        """Drop pending records (all, or those recorded before `before_ns`); count them."""
        where, args = ("WHERE first_ns < ?", (before_ns,)) if before_ns else ("", ())

        def op(db: sqlite3.Connection) -> int:
            with _transaction(db, self.lock):
                sql = f"SELECT COALESCE(SUM(count),0) FROM batches {where}"
                n = int(db.execute(sql, args).fetchone()[0])
                db.execute(f"DELETE FROM batches {where}", args)
                self._add_counters(db, {"purged": n})
            return n

        return self._do(op)

    def _exists(self) -> bool:
        """Is there anything to read? (Reading never creates the file.)"""
        return self.db is not None or os.path.exists(self.path)

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        def op(db: sqlite3.Connection) -> list[Any]:
            with self.lock:
                return db.execute(sql, args).fetchall()

        return self._do(op)

    def pending(self) -> int:
        if not self._exists():
            return 0
        return int(self._read("SELECT COALESCE(SUM(count),0) FROM batches")[0][0])

    def counters(self) -> dict[str, int]:
        if not self._exists():
            return {}
        return {str(k): int(v) for k, v in self._read("SELECT name, value FROM counters")}

    def peek(self, limit: int = 20) -> list[bytes]:
        """The gzip bodies of the oldest batches, for `telemetry pending`."""
        return [body for _, body in self.peek_kinds(limit)]

    def peek_kinds(self, limit: int = 20) -> list[tuple[str, bytes]]:
        """(kind, gzip body) of the oldest batches."""
        if not self._exists():
            return []
        rows = self._read("SELECT kind, body FROM batches ORDER BY id LIMIT ?", (limit,))
        return [(str(k), bytes(b)) for k, b in rows]


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
            if exc_type is None:
                self.db.execute("COMMIT")
            else:
                try:  # SQLite may have rolled back already (a full disk): keep the first error
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
        finally:
            self.lock.release()
