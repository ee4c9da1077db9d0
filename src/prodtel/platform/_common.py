"""What both platform implementations share."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


class LockUnavailable(BlockingIOError):
    """This platform or file system cannot lock the file. A `BlockingIOError`, so a caller that
    skips its work while another process holds the lock skips it here too: the safe side for a
    telemetry library (the next run of the app sends what is left)."""


def fileno(f: FileDescriptorLike) -> int:
    return f if isinstance(f, int) else f.fileno()


def interpreter_argv(argv: list[str]) -> list[str]:
    """`argv` if its first item is a Python interpreter that can run `-m`; a frozen app's
    executable is the app itself, which must not be started again."""
    if getattr(sys, "frozen", False) or not argv or not argv[0]:
        raise OSError("no Python interpreter to start (frozen app or embedded Python)")
    return argv
