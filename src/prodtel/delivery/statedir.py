"""The state dir's health: which SQLite errors mean a corrupt outbox or an unusable disk, moving
a corrupt outbox aside, and what `telemetry status` says about it.

A broken state dir never stops delivery: the outbox moves a corrupt file aside and starts a
fresh one, and falls back to memory when the disk cannot take writes (see `Outbox`).
"""

from __future__ import annotations

import os
import sqlite3
import time

CORRUPT_SUFFIX = ".corrupt-"
KEEP_CORRUPT = 3  # moved-aside files kept for a post-mortem; older ones are deleted
LOW_SPACE = 256 * 1024

# SQLite result codes (sqlite3.Error.sqlite_errorcode, primary code in the low byte)
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = 13  # SQLITE_FULL
_UNWRITABLE = {3, 8, 10, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN


def is_corrupt(e: BaseException) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT
    text = str(e)
    return isinstance(e, sqlite3.DatabaseError) and (
        "malformed" in text or "not a database" in text
    )


def unusable_disk(e: BaseException, state_dir: str) -> str | None:
    """The problem to show when `e` means the state dir cannot take writes, else None."""
    import errno

    code = getattr(e, "sqlite_errorcode", None)
    full = (code is not None and code & 0xFF == _FULL) or "disk is full" in str(e)
    if full or (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)):
        return f"state dir {state_dir} has no space left: {MEMORY_CONSEQUENCE}"
    if isinstance(e, OSError) or (code is not None and code & 0xFF in _UNWRITABLE):
        return f"state dir {state_dir} is not writable: {MEMORY_CONSEQUENCE}"
    return None


MEMORY_CONSEQUENCE = "events are sent from memory and lost if this run cannot deliver them"


def still_corrupt(path: str) -> bool:
    """Check again with a fresh connection: another process may have replaced the file."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            row = db.execute("PRAGMA quick_check(1)").fetchone()
            return bool(row) and row[0] != "ok"
        finally:
            db.close()
    except sqlite3.Error as e:
        return is_corrupt(e)


def move_aside(path: str) -> str:
    """Rename a corrupt outbox (and its WAL) to `<path>.corrupt-<time>`; drop its shared-memory
    index. Keeps the newest KEEP_CORRUPT moved-aside files. Returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    aside = f"{path}{CORRUPT_SUFFIX}{stamp}"
    os.replace(path, aside)
    for ext in ("-wal", "-journal"):
        if os.path.exists(path + ext):
            os.replace(path + ext, aside + ext)
    try:
        os.unlink(path + "-shm")
    except OSError:
        pass
    for old in corrupt_files(path)[:-KEEP_CORRUPT]:
        for ext in ("", "-wal", "-journal"):
            try:
                os.unlink(old + ext)
            except OSError:
                pass
    return aside


def corrupt_files(path: str) -> list[str]:
    """Moved-aside outboxes, oldest first."""
    folder, name = os.path.split(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    prefix = name + CORRUPT_SUFFIX
    found = [n for n in names if n.startswith(prefix) and not n.endswith(("-wal", "-journal"))]
    return [os.path.join(folder, n) for n in sorted(found)]


def writable(state_dir: str) -> bool:
    """Could the outbox be created here? Probes the dir, or the nearest existing ancestor
    (creating nothing that stays). Root ignores file modes, so this tries a real write."""
    import tempfile

    folder = state_dir
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    if not os.path.isdir(folder):
        return False  # a file where a directory should be
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def problems(state_dir: str, outbox_path: str) -> list[str]:
    """What `status` says about the state dir, from outside a running app."""
    out = []
    if not writable(state_dir):
        out.append(f"state dir {state_dir} is not writable: {MEMORY_CONSEQUENCE}")
    elif _free_bytes(state_dir) < LOW_SPACE:
        out.append(f"state dir {state_dir} has no space left: {MEMORY_CONSEQUENCE}")
    aside = corrupt_files(outbox_path)
    if aside:
        out.append(
            f"the outbox was corrupt and was moved aside to {aside[-1]} (its unsent events are "
            "lost); a fresh outbox is in use"
        )
    return out


def _free_bytes(state_dir: str) -> int:
    folder = state_dir
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    import shutil  # disk_usage works on every platform (statvfs is POSIX only)

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return LOW_SPACE
