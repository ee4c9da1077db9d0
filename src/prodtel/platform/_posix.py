"""Linux, macOS and other POSIX systems: flock, posix_spawn + setsid, os.uname."""

from __future__ import annotations

import errno
import os
import sys

from prodtel.platform._common import LockUnavailable, fileno, interpreter_argv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

# flock errors that mean "cannot lock here" rather than "someone else holds it" (NFS without a
# lock daemon, FUSE file systems).
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def lock_nb(f: FileDescriptorLike) -> None:
    """Lock `f` exclusively or raise BlockingIOError (held) / LockUnavailable (cannot)."""
    if sys.platform == "win32":
        raise LockUnavailable("no flock on Windows")
    try:
        import fcntl
    except ImportError as e:
        raise LockUnavailable("no fcntl module") from e
    try:
        fcntl.flock(fileno(f), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError as e:
        if e.errno in _NO_LOCKS:
            raise LockUnavailable(e.errno, f"file locks unsupported here: {e.strerror}") from e
        raise


def unlock(f: FileDescriptorLike) -> None:
    if sys.platform == "win32":
        return
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fileno(f), fcntl.LOCK_UN)


def spawn_detached(argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> None:
    """Start `argv` in a new session with stdin/out/err on /dev/null; returns at once.
    `pass_fds` must be inheritable (posix_spawn keeps those). Raises OSError if it cannot
    start."""
    argv = interpreter_argv(argv)
    if sys.platform != "win32" and hasattr(os, "posix_spawn"):
        devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
        try:
            os.posix_spawn(argv[0], argv, env, file_actions=devnull, setsid=True)
            return
        except NotImplementedError:
            pass  # posix_spawn without POSIX_SPAWN_SETSID (macOS < 10.15): fork + setsid below
    import subprocess

    subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        pass_fds=pass_fds,
    )


def machine() -> str:
    """The hardware architecture as the OS names it (x86_64, arm64, aarch64)."""
    if sys.platform == "linux":
        return os.uname().machine  # platform.machine()'s source there, without its import
    import platform

    return platform.machine()


def os_version(plat: str | None = None) -> str:
    """macOS: the product version (14.5); elsewhere the kernel release."""
    if (plat or sys.platform) == "linux" and sys.platform == "linux":
        return os.uname().release  # platform.release()'s source there
    import platform

    if (plat or sys.platform) == "darwin":
        return platform.mac_ver()[0] or platform.release()
    return platform.release()
