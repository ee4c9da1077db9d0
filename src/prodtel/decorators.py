"""`@event` and `@command`: record duration and outcome of sync and async functions.

Only declared attributes are sent, never the function's arguments or return value.

Either decorator order works with click and typer: below `@app.command()` (the usual order) the
CLI registers the wrapped function; above it, the decorator wraps the registered command's
callback (click) or re-points the typer app's registration at the wrapper, since otherwise the
CLI would call the unwrapped function and nothing would be sent.

    @prodtel.command("run")
    def run(...): ...

    @prodtel.event("script_exported", format="js")
    async def export_script(...): ...
"""

from __future__ import annotations

import functools
import sys
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
        click = sys.modules.get("click")
        if click is not None and isinstance(fn, click.Command) and fn.callback is not None:
            fn.callback = decorate(fn.callback)  # placed above @cli.command()
            return fn
        wrapped = _wrap(fn)
        caller = sys._getframe(1)
        _repoint_typer(fn, wrapped, [*caller.f_locals.values(), *caller.f_globals.values()])
        return wrapped

    def _wrap(fn: F) -> F:
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


def _repoint_typer(fn: Callable[..., Any], wrapped: Callable[..., Any], scope: list[Any]) -> None:
    """If `fn` is already registered with a typer app of the decorating module (the decorator
    sits above `@app.command()`), register the wrapper instead."""
    typer = sys.modules.get("typer")
    if typer is None:
        return
    apps = [v for v in scope if isinstance(v, typer.Typer)]
    seen: set[int] = set()
    while apps:
        app = apps.pop()
        if id(app) in seen:
            continue
        seen.add(id(app))
        for info in app.registered_commands:
            if info.callback is fn:
                info.callback = wrapped
        if app.registered_callback is not None and app.registered_callback.callback is fn:
            app.registered_callback.callback = wrapped
        apps += [g.typer_instance for g in app.registered_groups if g.typer_instance]
