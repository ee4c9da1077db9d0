"""Windows: msvcrt.locking, subprocess with detached creation flags, WMI-free machine facts.

Importable anywhere, so the command line and flags can be built and checked on Linux; the calls
into msvcrt and sys.getwindowsversion run on Windows only.
"""

from __future__ import annotations

import errno
import os
import sys

from prodtel.platform._common import LockUnavailable, fileno, interpreter_argv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import FileDescriptorLike

# Process creation flags (winbase.h); spelled out because `subprocess` defines them on Windows
# only. No console, not in the app's console group (Ctrl+C there does not reach it), no window.
DETACHED_PROCESS = 0x00000008
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
CREATION_FLAGS = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW

# Windows locks are mandatory: a locked byte cannot be read by others. The lock sits on one byte
# far past the end of the file (allowed by LockFile), so the holder's pid stays readable.
LOCK_OFFSET = 1 << 30
_HELD = {errno.EACCES, errno.EDEADLK}  # what _locking sets when another process holds it


def lock_nb(f: FileDescriptorLike) -> None:
    """Lock `f` exclusively or raise BlockingIOError (held) / LockUnavailable (cannot)."""
    if sys.platform != "win32":
        raise LockUnavailable("msvcrt is Windows-only")
    import msvcrt

    try:
        _at_lock_offset(fileno(f), lambda fd: msvcrt.locking(fd, msvcrt.LK_NBLCK, 1))
    except OSError as e:
        if e.errno in _HELD:
            raise BlockingIOError(errno.EAGAIN, "locked by another process") from e
        raise LockUnavailable(e.errno, f"cannot lock: {e.strerror}") from e


def unlock(f: FileDescriptorLike) -> None:
    if sys.platform != "win32":
        return
    import msvcrt

    _at_lock_offset(fileno(f), lambda fd: msvcrt.locking(fd, msvcrt.LK_UNLCK, 1))


def _at_lock_offset(fd: int, call: Any) -> None:
    """msvcrt.locking works from the file position: move there, call, move back."""
    pos = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
    try:
        call(fd)
    finally:
        os.lseek(fd, pos, os.SEEK_SET)


def popen_kwargs(env: dict[str, str]) -> dict[str, Any]:
    """What `spawn_detached` passes to subprocess.Popen besides argv."""
    import subprocess

    return {
        "env": env,
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "close_fds": True,
        "creationflags": CREATION_FLAGS,
    }


def spawn_detached(argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> None:
    """Start `argv` detached from this process's console; returns at once. Raises OSError if it
    cannot start. `pass_fds` is ignored: no socket handoff on Windows (the exit plan never
    makes one there)."""
    import subprocess

    subprocess.Popen(interpreter_argv(argv), **popen_kwargs(env))


def machine(environ: dict[str, str] | None = None) -> str:
    """The host's architecture (AMD64, ARM64, x86) from the environment Windows sets for every
    process; PROCESSOR_ARCHITEW6432 names the host when a 32-bit Python runs on 64-bit Windows.
    No WMI query (Python 3.12's platform.machine() makes one)."""
    env = os.environ if environ is None else environ
    return env.get("PROCESSOR_ARCHITEW6432") or env.get("PROCESSOR_ARCHITECTURE") or ""


def os_version(version: Any = None) -> str:
    """major.minor.build (10.0.22631 on Windows 11) from sys.getwindowsversion(), no WMI."""
    if version is None:
        if sys.platform != "win32":
            return ""
        version = sys.getwindowsversion()
    return f"{version.major}.{version.minor}.{version.build}"
