"""One process at a time per chDB folder.

chDB's embedded server refuses a second process on the same folder with an opaque error, so
every command that opens the folder (ingest and report alike) takes this lock first, waits a
little for the holder, then fails saying who holds it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prodtel import platform

LOCK_NAME = "prodtel-analytics.lock"


class LockBusy(RuntimeError):
    """Another process holds the folder."""


class FolderLock:
    """An exclusive lock (flock, or msvcrt.locking on Windows) on
    `<folder>/prodtel-analytics.lock`, released on close or exit. Where the file system cannot
    lock, commands run unlocked (chDB's own error then names the conflict)."""

    def __init__(self, folder: Path, wait: float = 5.0) -> None:
        self.path = folder / LOCK_NAME
        self.wait = wait
        self.fd: int | None = None

    def acquire(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                platform.lock_nb(fd)
                break
            except platform.LockUnavailable:
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockBusy(
                        f"{self.path.parent} is in use by another prodtel analytics process"
                        f"{holder} (chDB allows one process per folder). Waited {self.wait:g}s;"
                        " retry when it has finished, or raise --wait."
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)  # no os.pwrite on Windows
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.ftruncate(fd, 0)
            platform.unlock(fd)
            os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)  # no os.pread on Windows
        text = os.read(fd, 32).decode(errors="replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
