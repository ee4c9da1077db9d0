"""The capture sink and its assertions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prodtel import export
from prodtel.record import NAME, merged

if TYPE_CHECKING:
    from prodtel.record import Record


class Sent:
    """One captured event: its name and the attributes exactly as they would be sent."""

    def __init__(self, r: Record) -> None:
        self.name: str = r[NAME]
        self.attrs: dict[str, Any] = merged(r)

    def __repr__(self) -> str:
        return f"Sent({self.name!r}, {self.attrs!r})"


class Captured:
    """Records that would have been sent, with the resource they would have carried."""

    def __init__(self) -> None:
        self.records: list[Sent] = []
        self.resource: dict[str, str] = {}

    # the Sink interface
    def write(self, records: list[Record]) -> None:
        self.records.extend(Sent(r) for r in records)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True

    @property
    def events(self) -> list[Sent]:
        import prodtel

        prodtel.flush(5)
        t = prodtel.current()
        if t is not None and t.resource:
            self.resource = dict(t.resource)
        return list(self.records)

    def named(self, name: str) -> list[Sent]:
        return [r for r in self.events if r.name == name]

    def dump(self) -> str:
        return (
            "\n".join(
                f"  {r.name} {json.dumps(r.attrs, sort_keys=True, default=str)}"
                for r in self.events
            )
            or "  (nothing)"
        )

    def assert_event(self, name: str, /, **attrs: Any) -> Sent:
        """Assert an event `name` was sent whose attributes include `attrs`."""
        candidates = self.named(name)
        for r in candidates:
            if all(r.attrs.get(k) == v for k, v in attrs.items()):
                return r
        if not candidates:
            raise AssertionError(f"no {name!r} event was sent. Sent:\n{self.dump()}")
        diffs = "\n".join(
            "  "
            + ", ".join(
                f"{k}: expected {v!r}, got {r.attrs.get(k, '<missing>')!r}"
                for k, v in attrs.items()
                if r.attrs.get(k) != v
            )
            for r in candidates
        )
        raise AssertionError(f"{name!r} was sent, but not with {attrs}:\n{diffs}")

    def assert_nothing_sent(self) -> None:
        if self.events:
            raise AssertionError(f"expected nothing sent, but got:\n{self.dump()}")


@contextmanager
def capture() -> Iterator[Captured]:
    """Route every export to memory while the block runs; nothing leaves the process."""
    import prodtel

    cap = Captured()
    previous = export.override
    export.override = cap
    t = prodtel.current()
    old_sink = None
    if t is not None and t.worker is not None:
        old_sink, t.worker.sink = t.worker.sink, cap
    try:
        yield cap
    finally:
        export.override = previous
        if old_sink is not None and t is not None and t.worker is not None:
            t.worker.sink = old_sink
