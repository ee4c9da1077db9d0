"""`@event` and `@command`: record duration and outcome of sync and async functions.

Only declared attributes are sent, never the function's arguments or return value.

    @prodtel.command("run")
    def run(...): ...

    @prodtel.event("script_exported", format="js")
    async def export_script(...): ...
"""

from __future__ import annotations

import functools
import time

from prodtel._builtins import COMMAND

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect


def event(name: str, /, **attrs: Any) -> Callable[[F], F]:
    """Send event `name` with `attrs` when the function returns or raises. If the event declares
    `duration_ms`, `outcome` or `error_type`, those are filled in."""
    return _timed(name, attrs, command=None)


def command(name: str, /) -> Callable[[F], F]:
    """Send the built-in `command` event (command, duration_ms, outcome, error_type)."""
    return _timed(COMMAND, {}, command=name)


def _timed(event_name: str, static: dict[str, Any], command: str | None) -> Callable[[F], F]:
    def emit(start: float, error: BaseException | None) -> None:
        import prodtel

        t = prodtel._active
        if t is None:
            return
        declared = t.settings.catalog.events.get(event_name)
        auto: dict[str, Any] = {
            "duration_ms": (time.perf_counter() - start) * 1000.0,
            "outcome": "ok" if error is None else "error",
        }
        if error is not None:
            auto["error_type"] = type(error).__qualname__
        if command is not None:
            auto["command"] = command
        if declared is not None:
            auto = {k: v for k, v in auto.items() if k in declared.attrs}
        t.track(event_name, {**static, **auto})

    def decorate(fn: F) -> F:
        if getattr(fn, "__code__", None) is not None and fn.__code__.co_flags & _CO_COROUTINE:

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as e:
                    emit(start, e)
                    raise
                emit(start, None)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                emit(start, e)
                raise
            emit(start, None)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
