"""Fork hooks that do not keep their object alive.

`os.register_at_fork` has no way to unregister, so a hook holding a bound method would keep
its object (a Worker with its queue and sink) alive for the life of the process, one more for
every `init()`. Each object registers once, in its constructor, through weak references, as
opentelemetry-python's BatchProcessor does; once the object is gone its hooks do nothing.
Windows has no fork and no `os.register_at_fork`: there this does nothing.
"""

from __future__ import annotations

import weakref

from prodtel import platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Hook = Callable[[], object]


def register(
    *,
    before: Hook | None = None,
    after_in_parent: Hook | None = None,
    after_in_child: Hook | None = None,
) -> None:
    """Register bound methods as fork hooks without holding a strong reference to their
    object."""
    hooks = {
        when: _weakly(weakref.WeakMethod(method))
        for when, method in (
            ("before", before),
            ("after_in_parent", after_in_parent),
            ("after_in_child", after_in_child),
        )
        if method is not None
    }
    platform.register_at_fork(**hooks)  # nothing where there is no fork (Windows)


def _weakly(ref: weakref.WeakMethod[Hook]) -> Callable[[], None]:
    def call() -> None:
        method = ref()
        if method is not None:
            method()

    return call
