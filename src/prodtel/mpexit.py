"""Events tracked in `multiprocessing` children leave when the child ends.

A child started with fork or forkserver ends in `os._exit()`, which skips atexit, so prodtel's
own exit hook never runs there. multiprocessing runs its own finalizers before that
(`util._exit_function` at the end of `Process._bootstrap`, for every start method, also for
`Pool` and `concurrent.futures.ProcessPoolExecutor` workers), so prodtel registers one in each
child: in a forked child once multiprocessing has cleared the parent's (an after-fork hook of
multiprocessing's own), and at once when `init()` runs inside a child (spawn and forkserver
workers, a Pool `initializer`). The finalizer runs `prodtel.shutdown()`: the child's exit path
is the same as any process's. Nothing here imports multiprocessing: an app that does not use it
pays nothing.
"""

from __future__ import annotations

import os
import sys

EXIT_PRIORITY = 5  # multiprocessing runs finalizers with a priority >= 0 before joining children


class _Token:
    """What multiprocessing's after-fork registry holds (weakly) for prodtel."""


_TOKEN = _Token()
_installed = False
_after_forker = False


def install() -> None:
    """Called by `prodtel.init()`; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    if in_child():
        _register_finalizer()
    _register_after_forker()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_register_after_forker)


def in_child() -> bool:
    """Is this process a running multiprocessing child?"""
    process = sys.modules.get("multiprocessing.process")
    return process is not None and process.parent_process() is not None


def _register_after_forker() -> None:
    """Once multiprocessing is imported: run `_in_forked_child` in each child it forks (after
    it has dropped the parent's finalizers, which a plain fork hook would run before)."""
    global _after_forker
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _after_forker:
        util.register_after_fork(_TOKEN, _in_forked_child)
        _after_forker = True


def _in_forked_child(_token: _Token) -> None:
    import prodtel

    prodtel._summaries.clear()  # the parent's run summaries: the parent sends them
    _register_finalizer()


def _register_finalizer() -> None:
    from multiprocessing import util

    util.Finalize(None, _flush, exitpriority=EXIT_PRIORITY)


def _flush() -> None:
    import prodtel

    try:
        prodtel.shutdown()
    except Exception:  # a child's exit must never fail because of telemetry
        pass
