"""Every platform-specific call prodtel makes, behind one small surface.

prodtel runs inside other people's apps on Linux, macOS and Windows laptops, so a call that
exists on one of them only lives here, with a POSIX (`_posix`) and a Windows (`_windows`)
implementation and a fallback that never raises into the host app:

- `lock_nb` / `unlock`: an exclusive, non-blocking lock on an open file (the uploader lock,
  the analytics folder lock). POSIX `fcntl.flock`, Windows `msvcrt.locking`. Held by another
  process: `BlockingIOError`. No lock possible here (no lock module, a file system without
  locks): `LockUnavailable`, a `BlockingIOError` too, so callers skip the work as if another
  process did it (the next run sends what is left).
- `spawn_detached`: start a process that outlives this one, without a console or a terminal.
  POSIX `os.posix_spawn(..., setsid=True)` (no fork, no subprocess import on the exit path),
  falling back to `subprocess` with `start_new_session` where posix_spawn lacks setsid
  (macOS before 10.15); Windows `subprocess` with DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
  | CREATE_NO_WINDOW. A frozen app (PyInstaller, py2app) has no interpreter to start: OSError.
- `register_at_fork`: `os.register_at_fork` where it exists (not on Windows), else nothing.
- `machine`, `os_version`: host architecture and OS version without WMI (Python 3.12's
  `platform.machine()`/`platform.version()` query WMI on Windows, which can take seconds).
- `dirs`: the platformdirs config and state dirs; `facts`: memory, boot time, process start and
  RSS for crash contexts, each None where the platform does not say cheaply.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from prodtel.platform._common import LockUnavailable

    if sys.platform == "win32":
        from prodtel.platform._windows import lock_nb, machine, os_version, unlock
    else:
        from prodtel.platform._posix import lock_nb, machine, os_version, unlock

# The implementation loads on first use (module __getattr__), not with the package: finding the
# consent file (`dirs`) on a start with telemetry off needs none of it. Chosen by the real
# platform at import time, so a test that patches sys.platform later cannot swap it for good.
_IMPL = "prodtel.platform._windows" if sys.platform == "win32" else "prodtel.platform._posix"
_FROM_IMPL = frozenset({"LockUnavailable", "lock_nb", "machine", "os_version", "unlock"})


def _platform_module() -> ModuleType:
    __import__(_IMPL)
    return sys.modules[_IMPL]


def _load_impl() -> ModuleType:
    impl = globals().get("_impl")
    if impl is None:
        impl = globals()["_impl"] = _platform_module()
    return impl


def __getattr__(name: str) -> object:
    if name == "_impl":
        return _load_impl()
    if name in _FROM_IMPL:  # from the platform's module itself, whatever `_impl` is set to
        value = globals()[name] = getattr(_platform_module(), name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LockUnavailable",
    "lock_nb",
    "machine",
    "os_version",
    "register_at_fork",
    "spawn_detached",
    "unlock",
]


def spawn_detached(argv: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> None:
    """Start `argv` detached (see the module doc); returns at once. `pass_fds`: inheritable
    descriptors the child keeps (POSIX only). Any failure is an OSError, which the exit path
    catches: the outbox then waits for the next run."""
    try:
        _load_impl().spawn_detached(argv, env, pass_fds)
    except OSError:
        raise
    except Exception as e:  # ValueError, NotImplementedError...: never into the host app
        raise OSError(f"cannot start {argv[:1]}: {e!r}") from e


def register_at_fork(
    *,
    before: Callable[[], object] | None = None,
    after_in_parent: Callable[[], object] | None = None,
    after_in_child: Callable[[], object] | None = None,
) -> bool:
    """`os.register_at_fork` where the platform has it (no fork on Windows). True if
    registered."""
    register = getattr(os, "register_at_fork", None)
    if register is None:
        return False
    hooks = {"before": before, "after_in_parent": after_in_parent, "after_in_child": after_in_child}
    register(**{when: hook for when, hook in hooks.items() if hook is not None})
    return True
